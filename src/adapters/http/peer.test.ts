import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { peerUser } from './peer.js';

describe('peerUser', () => {
  it("names the local user owning the client's end of a loopback connection", async () => {
    const server = createServer();
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    try {
      const socket = await accepted;
      const conn = {
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        localAddress: socket.localAddress,
        localPort: socket.localPort,
      };
      const uid = process.getuid!();
      expect(peerUser(socket)).toMatchObject({ uid });
      expect(peerUser(conn)).toMatchObject({ uid });
      // Not a loopback peer, or no peer at all: nothing is made up.
      expect(peerUser({ ...conn, remoteAddress: '10.0.0.1', remotePort: 1 })).toBeNull();
      expect(peerUser({})).toBeNull();
      expect(peerUser({ ...conn, remotePort: 1 })).toBeNull(); // no such connection
    } finally {
      client.destroy();
      server.close();
    }
  });
});
