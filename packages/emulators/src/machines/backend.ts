import { MantleError } from '@mantle/cluster';
import type { QemuBackendOptions } from './qemu.js';

// The machine backends of the emulator kit: what an emulated cloud's instance is on this host.
// (Interface agreed with the backends' implementations in this folder.)

export type Provider = 'aws' | 'gce' | 'azure' | 'do' | 'esx' | 'packet';

/** Ignition's name of each provider's platform (`-platform`, `ignition.platform.id`). */
export const ignitionPlatformId: Readonly<Record<Provider, string>> = {
  aws: 'aws',
  gce: 'gcp',
  azure: 'azure',
  do: 'digitalocean',
  esx: 'vmware',
  packet: 'packet',
};

/** What the guest asks its metadata service; the emulated cloud answers. */
export interface MetadataRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}
export interface MetadataResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}
export type MetadataHandler = (req: MetadataRequest) => Promise<MetadataResponse> | MetadataResponse;

export interface MachineSpec {
  instanceId: string;
  provider: Provider;
  /** Answers the guest's requests to the provider's metadata address (169.254.169.254:80). */
  metadata: MetadataHandler;
  /** Instances with the same network id share a private network (the qemu platform's hub). */
  network: string;
  /** The private address the API reports (the guest's cluster NIC gets it). */
  privateIp: string;
  /** Extra kernel arguments; the backend adds `ignition.platform.id=` the provider's Ignition id. */
  kernelArgs?: string[];
  flavor?: 'minimal' | 'systemd';
  signal?: AbortSignal;
}

export interface BackendMachine {
  /** Where SSH answers: a loopback address of its own (127.x.y.z), as the API reports it. */
  sshHost: string;
  sshPort: number;
  /** The serial console so far (for the console APIs). */
  consoleOutput(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  reboot(): Promise<void>;
  /** Kills the VM; nothing is left (files, processes). */
  terminate(): Promise<void>;
  readonly state: 'running' | 'stopped' | 'terminated';
  /**
   * Calls `listener` each time the guest powers itself off (state `stopped` without `stop()`), as a
   * cloud shows an instance that shut down. Returns a function that removes the listener.
   */
  onGuestPowerOff(listener: () => void): () => void;
  /**
   * Writes the machine's disk as it is now, flattened to one raw file at `dest` (what a snapshot of
   * it holds). Only of a stopped machine; backends without disks (`ssh`, `none`) throw
   * `emulator.disk-unsupported`.
   */
  exportDisk(dest: string, signal?: AbortSignal): Promise<void>;
}

/** What `exportDisk` of a backend whose machines have no disk throws. */
export function diskUnsupported(kind: 'ssh' | 'none', instanceId: string): MantleError {
  return new MantleError(
    'emulator.disk-unsupported',
    `${instanceId}: ${kind} machines have no disk; snapshot disks need the qemu machine backend`,
  );
}

export interface MachineBackend {
  readonly kind: 'qemu' | 'ssh' | 'none';
  start(spec: MachineSpec): Promise<BackendMachine>;
  /** Ids of machines not terminated. */
  live(): string[];
  /** Terminates every machine; says on stderr which were still running. */
  dispose(): Promise<void>;
}

export interface MachineBackendOptions {
  /** The user SSH logs in as (`core`, as kola's test image and mantle have it). */
  user?: string;
  /** `qemu`: VM size, accelerator, QEMU binary, image cache, log (see qemu.ts). */
  qemu?: QemuBackendOptions;
}

/**
 * The backend of one emulated cloud: `qemu` (a real VM per instance from kola's test image), `ssh`
 * (in-process SSH servers: fast, for API-level tests) or `none` (API state only).
 */
export function createMachineBackend(
  kind: MachineBackend['kind'],
  options: MachineBackendOptions = {},
): MachineBackend {
  let current: MachineBackend | undefined;
  let loading: Promise<MachineBackend> | undefined;
  // each kind's module loads when the first machine starts: `none` never loads ssh2 or QEMU code
  const load = () =>
    (loading ??= (async () => {
      if (kind === 'ssh') current = (await import('./ssh.js')).createSshBackend(options);
      else if (kind === 'none') current = (await import('./none.js')).createNoneBackend();
      else current = (await import('./qemu.js')).createQemuBackend(options.qemu);
      return current;
    })());
  return {
    kind,
    start: async (spec) => (await load()).start(spec),
    live: () => current?.live() ?? [],
    async dispose() {
      await current?.dispose();
    },
  };
}
