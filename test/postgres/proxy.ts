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
 * - `silenceAfter(...)` and `delayAfter(ms, ...)` lose, or hold back for a while, what one connection
 *   sends from a given message on: an answer lost after the server acted, a message that arrives late.
 */
import net from 'node:net'

type Mode = 'open' | 'refusing' | 'silent'

export class TcpProxy {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  /** Sockets of connections that pass nothing any more: each is forgotten when it closes, alone. */
  private readonly stalled = new WeakSet<net.Socket>()
  private mode: Mode = 'open'
  /** With `silenceAfter` or `delayAfter`: what clients' messages must contain, and how many of them each has sent. */
  private trigger: { texts: Buffer[]; seen: WeakMap<net.Socket, number>; delayMs?: number } | undefined
  /** Clients whose messages are held back (`delayAfter`), and whether they ended meanwhile. */
  private readonly delayed = new Map<net.Socket, { chunks: Buffer[]; ended: boolean }>()
  /** Resolves when the message `delayAfter` held back has been passed on. */
  delivered: Promise<void> = Promise.resolve()
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

  /**
   * Like `silenceAfter`, but that message and everything after it on its connection (its closing too)
   * reach the server `ms` late instead of never: a COMMIT the server applies after the client gave up.
   */
  delayAfter(ms: number, ...texts: string[]): void {
    this.trigger = { texts: texts.map((text) => Buffer.from(text)), seen: new WeakMap(), delayMs: ms }
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
    const end = (socket: net.Socket) => {
      // A stalled connection's end reaches nobody: its other side stays as it was. A delayed one's
      // client end waits for the held messages.
      if (this.stalled.has(client)) return
      const held = this.delayed.get(client)
      if (held !== undefined && socket === client) {
        held.ended = true
        return
      }
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.on('error', () => end(socket))
      socket.on('close', () => end(socket))
    }
    client.on('data', (chunk: Buffer) => {
      if (this.stalled.has(client)) return
      const held = this.delayed.get(client)
      if (held !== undefined) {
        held.chunks.push(chunk)
        return
      }
      const delayMs = this.trigger?.delayMs
      if (!this.watch(client, chunk)) {
        upstream.write(chunk)
      } else if (delayMs === undefined) {
        upstream.write(chunk)
        this.silence()
      } else {
        this.hold(client, upstream, chunk, delayMs)
      }
    })
    client.on('end', () => {
      if (this.stalled.has(client)) return
      const held = this.delayed.get(client)
      if (held !== undefined) held.ended = true
      else upstream.end()
    })
    upstream.pipe(client)
  }

  /** Whether `chunk` completes the trigger on `client` (which then ends). */
  private watch(client: net.Socket, chunk: Buffer): boolean {
    const trigger = this.trigger
    if (trigger === undefined) return false
    const seen = trigger.seen.get(client) ?? 0
    if (!chunk.includes(trigger.texts[seen] as Buffer)) return false
    if (seen + 1 < trigger.texts.length) {
      trigger.seen.set(client, seen + 1)
      return false
    }
    this.trigger = undefined
    return true
  }

  /** Pass `chunk`, and what follows it from `client`, on to `upstream` `ms` from now, then its end if it ended. */
  private hold(client: net.Socket, upstream: net.Socket, chunk: Buffer, ms: number): void {
    const held = { chunks: [chunk], ended: false }
    this.delayed.set(client, held)
    this.delivered = new Promise<void>((resolve) => {
      setTimeout(() => {
        this.delayed.delete(client)
        for (const part of held.chunks) upstream.write(part)
        if (held.ended || client.destroyed) upstream.end()
        resolve()
      }, ms)
    })
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
