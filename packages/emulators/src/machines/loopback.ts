import { createServer } from 'node:net';

/**
 * A loopback address of its own for each machine, from 127.10.0.0/15 (never outside 127.0.0.0/8), so
 * every machine's SSH answers at `<address>:22` as a cloud's instances do at theirs. Drawn at random
 * and checked free, so two emulators on one host do not collide.
 */
export async function allocateLoopbackAddress(port: number, taken: ReadonlySet<string>): Promise<string> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const n = Math.floor(Math.random() * 2 * 65536);
    const address = `127.${10 + (n >> 16)}.${(n >> 8) & 255}.${Math.max(2, n & 255)}`;
    if (!taken.has(address) && (await canListen(address, port))) return address;
  }
  throw new Error(`no free loopback address with port ${port} after 64 tries`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
