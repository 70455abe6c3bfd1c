import type { BackendMachine, MachineBackend } from './backend.js';
import { allocateLoopbackAddress } from './loopback.js';

/** `none`: instances are API state only; an address is reported, nothing answers at it. */
export function createNoneBackend(): MachineBackend {
  const machines = new Map<string, BackendMachine>();
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
        async terminate() {
          state = 'terminated';
          machines.delete(spec.instanceId);
          taken.delete(sshHost);
        },
      };
      machines.set(spec.instanceId, machine);
      return machine;
    },
    live: () => [...machines.keys()],
    async dispose() {
      await Promise.allSettled([...machines.values()].map((m) => m.terminate()));
    },
  };
}
