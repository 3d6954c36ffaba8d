/**
 * A TCP proxy between a test's stores and the test PostgreSQL, to take the database away: `cut()`
 * drops every connection through it and refuses new ones (a server restart, a network drop) until
 * `restore()`.
 */
import net from 'node:net'

export class TcpProxy {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private refusing = false
  /** Connections refused since the last cut. */
  refused = 0

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client))
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

  /** Drop every connection, and refuse new ones until `restore()`. */
  cut(): void {
    this.refusing = true
    this.refused = 0
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  restore(): void {
    this.refusing = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      this.refused++
      client.destroy()
      return
    }
    const upstream = net.connect(this.target.port, this.target.host)
    this.sockets.add(client)
    this.sockets.add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      this.sockets.delete(client)
      this.sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
