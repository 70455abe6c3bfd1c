import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateHostKey, type MockSshServer, startMockSshServer } from '@mantle/cluster/testing';
import { type BackendMachine, diskUnsupported, type MachineBackend, type MachineSpec } from './backend.js';
import { allocateLoopbackAddress } from './loopback.js';
import { MachineSet } from './machine-set.js';
import { agentKeysFor, authorizedKeysIn, fetchUserData } from './user-data.js';

const bootIdCommand = 'cat /proc/sys/kernel/random/boot_id';

/**
 * `ssh` machines: an in-process SSH server per instance (commands run in a shell on this host, in a
 * home of their own) at the instance's loopback address, port 22. It accepts exactly the keys the
 * instance's user-data carries, read through its metadata service as a guest's Ignition would (and,
 * on GCE, the `ssh-keys` metadata a guest agent installs): a cloud that passes them wrongly gets a
 * machine nobody can log in to. Fast, for API-level
 * tests; no OS boots.
 */
export function createSshBackend(options: { user?: string } = {}): MachineBackend {
  const machines = new MachineSet<SshMachine>();
  const taken = new Set<string>();
  return {
    kind: 'ssh',
    async start(spec) {
      const user = options.user ?? 'core';
      const keys = [
        ...new Set([...authorizedKeysIn(await fetchUserData(spec)), ...(await agentKeysFor(spec, user))]),
      ];
      const address = await allocateLoopbackAddress(22, taken);
      taken.add(address);
      const machine = new SshMachine(spec, address, keys, user, () => {
        machines.delete(spec.instanceId);
        taken.delete(address);
      });
      return machines.add(spec.instanceId, machine, () => machine.start());
    },
    live: () => machines.ids(),
    async dispose() {
      await machines.terminateAll('ssh');
    },
  };
}

class SshMachine implements BackendMachine {
  readonly sshPort = 22;
  state: BackendMachine['state'] = 'stopped';
  private server: MockSshServer | undefined;
  private bootId = randomUUID();
  private readonly hostKey = generateHostKey();
  private readonly home = mkdtempSync(join(tmpdir(), 'kola-emulated-'));
  private console = '';

  constructor(
    private readonly spec: MachineSpec,
    readonly sshHost: string,
    private readonly keys: string[],
    private readonly user: string,
    private readonly onTerminated: () => void,
  ) {}

  consoleOutput(): string {
    return this.console;
  }

  async start(): Promise<void> {
    if (this.state === 'running') return;
    if (this.state === 'terminated') throw new Error(`${this.spec.instanceId} is terminated`);
    this.server = await startMockSshServer({
      authorizedKeys: this.keys,
      user: this.user,
      hostKey: this.hostKey,
      host: this.sshHost,
      port: 22,
      cwd: this.home,
      handleExec: (command, channel) => {
        if (command.trim() === bootIdCommand) {
          channel.write(`${this.bootId}\n`);
          channel.exit(0);
          channel.end();
          return true;
        }
        if (/\breboot\b/.test(command)) {
          channel.exit(0);
          channel.end();
          setTimeout(() => void this.reboot(), 50);
          return true;
        }
        return false;
      },
    });
    this.state = 'running';
    this.console += `[emulator] ${this.spec.instanceId}: booted (boot id ${this.bootId}), ${this.keys.length} authorized key(s)\n`;
  }

  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    await this.server?.close();
    this.server = undefined;
    this.state = 'stopped';
    this.console += `[emulator] ${this.spec.instanceId}: powered off\n`;
  }

  async reboot(): Promise<void> {
    if (this.state !== 'running') return;
    await this.stop();
    this.bootId = randomUUID();
    await this.start();
  }

  /** An in-process SSH server has no guest that could power itself off. */
  onGuestPowerOff(): () => void {
    return () => {};
  }

  async exportDisk(): Promise<void> {
    throw diskUnsupported('ssh', this.spec.instanceId);
  }

  async terminate(): Promise<void> {
    if (this.state === 'terminated') return;
    await this.server?.close();
    this.server = undefined;
    this.state = 'terminated';
    rmSync(this.home, { recursive: true, force: true });
    this.onTerminated();
  }
}
