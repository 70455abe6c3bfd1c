import { definePlatform, type LedgerEntry } from '@mantle/cluster';
import { esxCommands } from './commands/index.js';
import { type EsxOptions, esxOptions } from './options.js';

/**
 * vSphere (vCenter; plain ESXi cannot clone): VMs cloned from a base VM, config in guestinfo (and
 * mantle's vApp properties where the base VM has them), our own typed vim25 SOAP client, TLS
 * verified by default; `ore esx` verbs for base VMs and GC.
 */
export const platform = definePlatform({
  name: 'esx',
  description: 'VMware vSphere VMs cloned from a base VM (vim25 SOAP; TLS verified unless --esx-insecure)',
  options: esxOptions,
  async createFlight(options, ctx) {
    const { EsxFlight } = await import('./flight.js');
    return EsxFlight.create(options, ctx);
  },
  properties: (o: EsxOptions) => ({ server: o.server, base_vm_name: o.baseVm }),
  defaultParallelism: () => 4,
  async destroyLedgerEntry(entry: LedgerEntry, options: EsxOptions, ctx) {
    const { destroyEsxLedgerEntry } = await import('./flight.js');
    await destroyEsxLedgerEntry(entry, options, ctx);
  },
  async gc(options, ctx) {
    const { openEsxGc } = await import('./gc/index.js');
    return openEsxGc(options, ctx);
  },
  commands: esxCommands,
});

export { connectEsx } from './connect.js';
export { EsxFlight, type EsxTuning } from './flight.js';
export { pickOne, resolvePlacement } from './inventory.js';
export { ignitionExtraConfig, vAppEdit } from './machine.js';
export { markerOptions, markersOf } from './markers.js';
export { type EsxOptions, esxOptions } from './options.js';
export * from './soap/index.js';
