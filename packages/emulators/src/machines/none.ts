import { type BackendMachine, diskUnsupported, type MachineBackend } from './backend.js';
import { allocateLoopbackAddress } from './loopback.js';
import { MachineSet } from './machine-set.js';

/** `none`: instances are API state only; an address is reported, nothing answers at it. */
export function createNoneBackend(): MachineBackend {
  const machines = new MachineSet<BackendMachine>();
  const taken = new Set<string>();
  return {
    kind: 'none',
    async start(spec) {
      const sshHost = await allocateLoopbackAddress(22, taken);
      taken.add(sshHost);
      let state: BackendMachine['state'] = 'running';
      const machine: BackendMachine = {
        sshHost,
        sshPort: 22,
        consoleOutput: () => '',
        get state() {
          return state;
        },
        async stop() {
          if (state === 'running') state = 'stopped';
        },
        async start() {
          if (state === 'stopped') state = 'running';
        },
        async reboot() {},
        // nothing runs: no guest powers itself off
        onGuestPowerOff: () => () => {},
        async exportDisk() {
          throw diskUnsupported('none', spec.instanceId);
        },
        async terminate() {
          state = 'terminated';
          machines.delete(spec.instanceId);
          taken.delete(sshHost);
        },
      };
      return machines.add(spec.instanceId, machine, async () => {});
    },
    live: () => machines.ids(),
    async dispose() {
      await machines.terminateAll('none');
    },
  };
}
