/**
 * A TCP proxy between a test's stores and the test PostgreSQL, to take the database away:
 *
 * - `cut()` drops every connection through it and refuses new ones (a server restart, a network
 *   drop that resets connections) until `restore()`.
 * - `silence()` drops packets silently (a blackhole: a firewall or NAT that lost its state, a cable
 *   pulled between two switches): open connections stay open but nothing passes them in either
 *   direction, not even their closing, and new connections are accepted but never get through. After
 *   `restore()` new connections work again; the ones that were stalled stay dead, as flows a
 *   firewall forgot do.
 */
import net from 'node:net'

type Mode = 'open' | 'refusing' | 'silent'

export class TcpProxy {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  /** Sockets of connections that pass nothing any more: each is forgotten when it closes, alone. */
  private readonly stalled = new WeakSet<net.Socket>()
  private mode: Mode = 'open'
  /** With `silenceAfter`: what clients' messages must contain, and how many of them each has sent. */
  private trigger: { texts: Buffer[]; seen: WeakMap<net.Socket, number> } | undefined
  /** Connections accepted, in any mode, since the proxy started. */
  accepted = 0
  /** Connections refused since the last cut. */
  refused = 0
  /** Connections accepted and left without an answer since the last silence. */
  held = 0

  private constructor(private readonly target: { host: string; port: number }) {
    // Half-open: a client's FIN is passed on (or, silenced, lost), never answered by the proxy itself.
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client))
  }

  /** A proxy to the server of `url`, listening on a free loopback port. */
  static async to(url: string): Promise<TcpProxy> {
    const parsed = new URL(url)
    const proxy = new TcpProxy({ host: parsed.hostname, port: Number(parsed.port || 5432) })
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = '127.0.0.1'
    parsed.port = String((this.server.address() as net.AddressInfo).port)
    return parsed.toString()
  }

  /** Connections passing through now (not counting stalled ones). */
  get open(): number {
    let sockets = 0
    for (const socket of this.sockets) if (!this.stalled.has(socket)) sockets++
    return sockets / 2
  }

  /** Drop every connection, and refuse new ones until `restore()`. */
  cut(): void {
    this.mode = 'refusing'
    this.refused = 0
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  /** Pass nothing through any connection, open or new, until `restore()` (and the open ones never again). */
  silence(): void {
    this.mode = 'silent'
    this.held = 0
    for (const socket of this.sockets) this.stall(socket)
  }

  /**
   * Go silent right after passing on a client's message that contains the last of `texts`, on a
   * connection that sent the others before it, in order (say `runs_id_seq` then `COMMIT`: a
   * transaction that begins a run): the server acts on that message, and its answer is lost.
   */
  silenceAfter(...texts: string[]): void {
    this.trigger = { texts: texts.map((text) => Buffer.from(text)), seen: new WeakMap() }
  }

  restore(): void {
    this.mode = 'open'
    this.trigger = undefined
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'refusing') {
      this.refused++
      client.destroy()
      return
    }
    this.accepted++
    this.track(client)
    if (this.mode === 'silent') {
      this.held++
      this.stall(client)
      return
    }
    const upstream = net.connect(this.target.port, this.target.host)
    this.track(upstream)
    const end = () => {
      // A stalled connection's end reaches nobody: its other side stays as it was.
      if (this.stalled.has(client)) return
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
    client.on('data', (chunk: Buffer) => {
      if (this.stalled.has(client)) return
      upstream.write(chunk)
      this.watch(client, chunk)
    })
    client.on('end', () => {
      if (!this.stalled.has(client)) upstream.end()
    })
    upstream.pipe(client)
  }

  /** A client's message passed on: the one `silenceAfter` waits for silences everything. */
  private watch(client: net.Socket, chunk: Buffer): void {
    const trigger = this.trigger
    if (trigger === undefined) return
    const seen = trigger.seen.get(client) ?? 0
    if (!chunk.includes(trigger.texts[seen] as Buffer)) return
    if (seen + 1 < trigger.texts.length) {
      trigger.seen.set(client, seen + 1)
      return
    }
    this.trigger = undefined
    this.silence()
  }

  /** Remember `socket` until it closes. */
  private track(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => undefined)
  }

  /** From now on, whatever arrives on `socket` is lost, and nothing is sent on it. */
  private stall(socket: net.Socket): void {
    this.stalled.add(socket)
    socket.unpipe()
    socket.on('data', () => undefined)
    socket.resume()
  }
}
