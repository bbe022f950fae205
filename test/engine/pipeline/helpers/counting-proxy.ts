import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A plain HTTP pass-through in front of the local registry that counts blob downloads (`GET
 * /v2/<repo>/blobs/<digest>`), so a test can assert what a scan read — "no layer downloaded" — on the
 * wire rather than by instrumenting our code.
 */
export interface CountingProxy {
  /** `127.0.0.1:<port>`: the host the scanner is pointed at. */
  readonly host: string;
  /** Blob GETs answered, by digest. */
  readonly blobGets: Map<string, number>;
  /** Every blob GET so far. */
  totalBlobGets(): number;
  /**
   * The next `n` blob downloads are cut after their first bytes (the connection is destroyed): what a
   * worker sees when the network or the registry dies mid-scan.
   */
  cutNextBlobs(n: number): void;
  stop(): Promise<void>;
}

/** Starts a proxy forwarding everything to `target` (`127.0.0.1:<port>`). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const [targetHost, targetPort] = target.split(':');
  const blobGets = new Map<string, number>();
  let toCut = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec((req.url ?? '').split('?')[0]);
    const isBlobGet = m !== null && req.method === 'GET';
    if (isBlobGet) blobGets.set(m[1], (blobGets.get(m[1]) ?? 0) + 1);
    const cut = isBlobGet && toCut > 0 && toCut-- > 0;
    const upstream = request({ host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!cut) return void up.pipe(res);
      up.once('data', (chunk: Buffer) => {
        res.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)));
        res.socket?.destroy();
        up.destroy();
      });
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    blobGets,
    totalBlobGets: () => [...blobGets.values()].reduce((a, b) => a + b, 0),
    cutNextBlobs: (n) => {
      toCut = n;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
