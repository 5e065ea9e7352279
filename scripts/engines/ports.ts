import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port the kernel picks as free on `host` now (it may be taken again before it is used). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Distinct ports that bind on `host` now, chosen at random below the kernel's ephemeral range:
 * a port from that range is soon reused for some outgoing connection (etcd's own peers dial
 * out all the time), and a sequential pick collides with a neighbour's pick.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  const top = Math.min(low ?? 32768, 32768);
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = 10_000 + Math.floor(Math.random() * (top - 10_000));
    if (!ports.has(port) && (await bindable(port, host))) ports.add(port);
  }
  return [...ports];
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
