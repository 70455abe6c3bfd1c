import { definePlatform, type LedgerEntry } from '@mantle/cluster';
import { packetCommands } from './commands/index.js';
import { metroOf, type PacketOptions, packetOptions } from './options.js';

/**
 * Packet (Equinix Metal, sunset 2026-06-30; kept because pipelines name it): a typed fetch client
 * for API v1, devices installed through mantle's iPXE path with the config staged in S3, one project
 * key per flight; `ore packet` verbs and GC. Nothing but zod loads until a flight, verb or gc runs.
 */
export const platform = definePlatform({
  name: 'packet',
  description: 'Equinix Metal (Packet) devices through an iPXE install (--packet-endpoint for emulators)',
  options: packetOptions,
  async createFlight(options, ctx) {
    const { PacketFlight } = await import('./flight.js');
    return PacketFlight.create(options, ctx);
  },
  properties: (o: PacketOptions) => ({ metro: metroOf(o), board: o.board, plan: o.plan ?? 'default' }),
  // devices are bare metal: a few at once unless -j says otherwise
  defaultParallelism: () => 2,
  async destroyLedgerEntry(entry: LedgerEntry, options: PacketOptions, ctx) {
    const { destroyPacketLedgerEntry } = await import('./flight.js');
    await destroyPacketLedgerEntry(entry, options, ctx);
  },
  async gc(options, ctx) {
    const { openPacketGc } = await import('./gc/index.js');
    return openPacketGc(options, ctx);
  },
  commands: packetCommands,
});

export { type CreateDeviceRequest, MetalClient } from './api/client.js';
export type { Device, Project, SshKey } from './api/schemas.js';
export { isNotFound, MetalApiError, MetalCredentialsError, MetalTransport } from './api/transport.js';
export { ipxeScript, wrapUserData } from './install.js';
export { type PacketOptions, packetOptions } from './options.js';
export { ownerTag, runTag, sshKeyLabel } from './tags.js';
