/**
 * A local HTTP server (127.0.0.1) serving one OSV export. While `stall` is set, a GET sends the
 * headers and half of the body, then holds the connection: a sync reading it is reliably caught in the
 * middle of the export (the feed tests kill it there with SIGKILL).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class StallingExportServer {
  /** Whether the next GET stalls halfway. */
  stall = true;
  /** Resolves once a GET has been sent half the body and stalled. */
  readonly stalled: Promise<void>;
  /** The export's URL, once started. */
  url = '';
  private onStalled!: () => void;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly bytes: Buffer, private readonly etag: string, private readonly path = '/PyPI/all.zip') {
    this.stalled = new Promise((r) => (this.onStalled = r));
    this.server = createServer((req, res: ServerResponse) => {
      const head = { 'content-type': 'application/zip', 'content-length': String(this.bytes.length), etag: this.etag };
      if (req.method === 'HEAD') return void res.writeHead(200, head).end();
      res.writeHead(200, head);
      if (!this.stall) return void res.end(this.bytes);
      res.write(this.bytes.subarray(0, this.bytes.length >> 1), () => this.onStalled());
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.path}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
