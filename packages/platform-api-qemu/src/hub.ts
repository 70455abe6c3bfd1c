import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * The private network of one cluster: an Ethernet hub on a unix socket. Each VM's second NIC is
 * `-netdev stream` connected here; QEMU frames packets as a 4-byte big-endian length followed by the
 * frame, and the hub copies every frame to every other VM. Nothing touches the host's network.
 */
export class EthernetHub {
  private readonly peers = new Set<Socket>();
  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  static async listen(path: string): Promise<EthernetHub> {
    rmSync(path, { force: true });
    const server = createServer();
    const hub = new EthernetHub(path, server);
    server.on('connection', (socket) => hub.attach(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return hub;
  }

  get connections(): number {
    return this.peers.size;
  }

  private attach(socket: Socket): void {
    this.peers.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // forward whole frames only; a frame may arrive split across reads
      while (pending.length >= 4) {
        const size = pending.readUInt32BE(0);
        if (pending.length < 4 + size) break;
        const frame = pending.subarray(0, 4 + size);
        pending = pending.subarray(4 + size);
        for (const peer of this.peers) if (peer !== socket && !peer.destroyed) peer.write(frame);
      }
    });
    const drop = () => this.peers.delete(socket);
    socket.on('close', drop);
    socket.on('error', drop);
  }

  async close(): Promise<void> {
    for (const peer of this.peers) peer.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
