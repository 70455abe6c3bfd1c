import { availableParallelism } from 'node:os';
import { definePlatform, type LedgerEntry } from '@mantle/cluster';
import { qemuOptions } from './options.js';
import { propertiesOf } from './resolved.js';

/**
 * Local VMs under QEMU, unprivileged: user-mode networking for SSH, a per-cluster hub for private
 * addresses, provisioning through fw_cfg, the serial console in console.txt, control over QMP.
 */
export const platform = definePlatform({
  name: 'qemu',
  description: 'local virtual machines under QEMU (KVM where it works, else TCG)',
  options: qemuOptions,
  async createFlight(options, ctx) {
    const { QemuFlight } = await import('./flight.js');
    return QemuFlight.create(options, ctx);
  },
  properties: propertiesOf,
  // Under TCG up to one VM per core boots at full speed; past that, boots slow down super-linearly.
  defaultParallelism: (options) => Math.max(1, Math.floor(availableParallelism() / options.cpus)),
  async destroyLedgerEntry(entry: LedgerEntry) {
    const { destroyQemuProcess } = await import('./process.js');
    await destroyQemuProcess(entry);
  },
});

export { type Accel, chooseAccel, kvmProblem, readHostFacts } from './accel.js';
export { optionValue, type QemuLaunchSpec, qemuArgv } from './argv.js';
export { EthernetHub } from './hub.js';
export { type CachedImage, ensureImage } from './image.js';
export { cloudConfigJson } from './machine.js';
export { type QemuOptions, qemuOptions } from './options.js';
export { createOverlay } from './overlay.js';
export { exited, killQemu, spawnQemu } from './process.js';
export { parseForwardedPort, QmpClient } from './qmp.js';
