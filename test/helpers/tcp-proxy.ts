import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server that a test can disturb without touching the server itself:
 * `pause()` drops every connection and refuses new ones (clients see UNAVAILABLE) until `resume()`;
 * `cut()` drops the connections open now but keeps accepting; `stall(ms)` holds every byte in both
 * directions for `ms` (a slow network path: requests and answers arrive late, nothing is lost).
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private stalledUntil = 0;
  private readonly flushes = new Set<() => void>();
  private stallTimer: NodeJS.Timeout | undefined;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** Holds every byte that passes in either direction for the next `ms`, then lets it through in order. */
  stall(ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, Date.now() + ms);
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.flushAll(), this.stalledUntil - Date.now());
  }

  /** Drops every open connection (clients see it reset) and keeps accepting new ones. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Cuts every connection and stops accepting new ones. */
  async pause(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Accepts connections again on the same port. */
  resume(): Promise<void> {
    return this.start(this.port);
  }

  /** Ends any stall and closes the proxy. */
  async stop(): Promise<void> {
    this.stalledUntil = 0;
    clearTimeout(this.stallTimer);
    this.flushAll();
    await this.pause();
  }

  /** Copies `from` → `to`, queueing chunks while stalled (order kept, back-pressure honoured). */
  private forward(from: Socket, to: Socket): void {
    const held: Buffer[] = [];
    const flush = () => {
      while (held.length > 0 && !to.destroyed) to.write(held.shift() as Buffer);
      if (from.isPaused()) from.resume();
    };
    this.flushes.add(flush);
    from.once('close', () => this.flushes.delete(flush));
    from.on('data', (chunk: Buffer) => {
      if (held.length > 0 || Date.now() < this.stalledUntil) {
        held.push(chunk);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.once('end', () => {
      if (held.length === 0) {
        to.end();
        return;
      }
      const end = () => {
        this.flushes.delete(end);
        to.end();
      };
      this.flushes.add(end);
    });
  }

  private flushAll(): void {
    this.stallTimer = undefined;
    for (const flush of [...this.flushes]) flush();
  }
}
