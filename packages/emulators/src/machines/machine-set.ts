import type { BackendMachine, MachineBackend } from './backend.js';

/**
 * The machines of one backend, by instance id: what `live()` lists and `dispose()` terminates. A test
 * that leaves a machine running is told on stderr, by id and state.
 */
export class MachineSet<M extends BackendMachine> {
  private readonly machines = new Map<string, M>();

  /** Adds the machine, then boots it; a machine that fails to boot is terminated and the error rethrown. */
  async add(instanceId: string, machine: M, boot: () => Promise<void>): Promise<M> {
    this.machines.set(instanceId, machine);
    try {
      await boot();
    } catch (e) {
      await machine.terminate();
      throw e;
    }
    return machine;
  }

  has(instanceId: string): boolean {
    return this.machines.has(instanceId);
  }

  /** Called by a machine as it terminates. */
  delete(instanceId: string): void {
    this.machines.delete(instanceId);
  }

  values(): M[] {
    return [...this.machines.values()];
  }

  ids(): string[] {
    return [...this.machines.keys()];
  }

  async terminateAll(kind: MachineBackend['kind']): Promise<void> {
    const left = [...this.machines];
    if (left.length)
      process.stderr.write(
        `emulator: ${left.length} ${kind} machine(s) were not terminated by the test, terminating them now: ${left
          .map(([id, m]) => `${id} (${m.state})`)
          .join(', ')}\n`,
      );
    await Promise.allSettled(left.map(([, m]) => m.terminate()));
  }
}
