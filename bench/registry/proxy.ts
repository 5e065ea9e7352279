import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the registry that counts what the client sends: every byte, and
 * each HTTP/1.1 request it can frame (method, path, body size, when its first byte came).
 * Counting at the socket is exact, headers and all, whatever the client's HTTP stack does.
 */

export interface SeenRequest {
  /** Wall-clock time (ms since the epoch) of the request's first byte at the proxy. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** Bytes of the request head (request line and headers). */
  readonly headBytes: number;
  /** Bytes of its body, by its Content-Length (chunked bodies: see `opaqueBytes`). */
  readonly bodyBytes: number;
}

export interface CountingProxy {
  /** `127.0.0.1:PORT`, to put in references instead of the registry's. */
  readonly authority: string;
  /** Client → registry bytes since the last reset. */
  readonly sent: () => number;
  /** Registry → client bytes since the last reset. */
  readonly received: () => number;
  readonly requests: () => readonly SeenRequest[];
  /** Bytes of connections that stopped being framed (chunked bodies): counted, not split. */
  readonly opaqueBytes: () => number;
  reset(): void;
  close(): Promise<void>;
}

/** Frames the requests of one client connection as its bytes go by. */
class RequestFramer {
  private head: Buffer = Buffer.alloc(0);
  private headStart = 0;
  private bodyLeft = 0;
  private opaque = false;

  constructor(
    private readonly onRequest: (r: SeenRequest) => void,
    private readonly onOpaque: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.opaque) return this.onOpaque(rest.length);
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, rest.length);
        this.bodyLeft -= n;
        rest = rest.subarray(n);
        continue;
      }
      if (this.head.length === 0) this.headStart = Date.now();
      this.head = Buffer.concat([this.head, rest]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      rest = this.head.subarray(end + 4);
      this.frame(this.head.subarray(0, end + 4));
      this.head = Buffer.alloc(0);
    }
  }

  private frame(head: Buffer): void {
    const lines = head.toString('latin1').split('\r\n');
    const [method = '?', path = '?'] = (lines[0] ?? '').split(' ');
    const header = (name: string) =>
      lines
        .find((l) => l.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim();
    const length = Number(header('content-length') ?? 0);
    if (header('transfer-encoding')?.toLowerCase().includes('chunked')) this.opaque = true;
    else this.bodyLeft = Number.isFinite(length) ? length : 0;
    this.onRequest({
      at: this.headStart,
      method,
      path,
      headBytes: head.length,
      bodyBytes: this.opaque ? 0 : this.bodyLeft,
    });
  }
}

export function startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  let sent = 0;
  let received = 0;
  let opaque = 0;
  let requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const framer = new RequestFramer(
      (r) => requests.push(r),
      (n) => (opaque += n),
    );
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      framer.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => (received += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        authority: `127.0.0.1:${port}`,
        sent: () => sent,
        received: () => received,
        requests: () => requests,
        opaqueBytes: () => opaque,
        reset: () => {
          sent = 0;
          received = 0;
          opaque = 0;
          requests = [];
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
