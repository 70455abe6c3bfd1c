import { type ChildProcess, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import {
  abortable,
  createLogger,
  deadline,
  errorMessage,
  type Logger,
  MantleError,
  RenderedUserData,
  releaseDeadline,
  sleep,
  streamSink,
  UserData,
} from '@mantle/cluster';
import {
  type Accel,
  type CachedImage,
  chooseAccel,
  cloudConfigJson,
  createOverlay,
  EthernetHub,
  ensureImage,
  exited,
  killQemu,
  parseForwardedPort,
  type QemuOptions,
  QmpClient,
  qemuOptions,
  spawnQemu,
} from '@mantle/platform-api-qemu';
import { type BackendMachine, ignitionPlatformId, type MachineBackend, type MachineSpec } from './backend.js';
import { allocateLoopbackAddress } from './loopback.js';
import { MachineSet } from './machine-set.js';
import { guestForward, type MetadataServer, startMetadataServer, writeRelay } from './metadata-service.js';
import { type EmulatedVmSpec, emulatedVmArgv, userNetworkNote } from './qemu-argv.js';
import { fetchUserData } from './user-data.js';

export interface QemuBackendOptions
  extends Partial<Pick<QemuOptions, 'memory' | 'cpus' | 'accel' | 'binary' | 'imageCache'>> {
  /** Prefix length of every private network (default 16: the VPC's addresses share one segment). */
  privatePrefixLength?: number;
  /** How long ACPI power-off may take on stop before the VM is killed (default 10 s). */
  powerOffGraceMs?: number;
  /** Where the image build and the backend log (default: notices on stderr). */
  log?: Logger;
}

const execFileAsync = promisify(execFile);

function backendError(message: string): MantleError {
  return new MantleError('emulator.qemu', message);
}

/** The first `perl` on PATH: the metadata relay's interpreter (see metadata-service.ts). */
function findPerl(): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir && existsSync(join(dir, 'perl'))) return join(dir, 'perl');
  }
  throw backendError('the qemu machine backend needs perl (Debian: perl-base) for its metadata relay');
}

/** A MAC of the private NIC from its address: unique within a network, stable across stop/start. */
export function privateMac(ip: string): string {
  const octets = ip.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw backendError(`private address "${ip}" is not an IPv4 address`);
  return `52:54:00:${octets
    .slice(1)
    .map((o) => o.toString(16).padStart(2, '0'))
    .join(':')}`;
}

function tail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

interface Shared {
  options: Required<Pick<QemuOptions, 'memory' | 'cpus' | 'binary'>> & QemuBackendOptions;
  accel: Accel;
  perl: string;
  relay: string;
  log: Logger;
  joinNetwork(network: string, instanceId: string): Promise<EthernetHub>;
  leaveNetwork(network: string, instanceId: string): Promise<void>;
}

/**
 * `qemu` machines: a real VM per instance from kola's test image (minimal by default), booted with
 * `ignition.platform.id=<provider>`, so the image's real Ignition fetches the user-data from the
 * metadata service the emulated cloud serves at 169.254.169.254. SSH answers at the instance's own
 * loopback address, port 22; instances of one network share an Ethernet hub.
 */
export function createQemuBackend(backendOptions: QemuBackendOptions = {}): MachineBackend {
  const machines = new MachineSet<QemuVm>();
  const taken = new Set<string>();
  const images = new Map<string, Promise<CachedImage>>();
  const networks = new Map<string, { hub: Promise<EthernetHub>; members: Set<string> }>();
  let shared: Shared | undefined;
  let runtimeDir: string | undefined;
  let vmCount = 0;

  // VMs die with this process (PR_SET_PDEATHSIG); their files go with it too
  const onExit = () => {
    for (const vm of machines.values()) vm.killNow();
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
  };

  const setUp = (): Shared => {
    if (shared) return shared;
    const defaults = qemuOptions.parse({});
    const options = {
      ...backendOptions,
      memory: backendOptions.memory ?? defaults.memory,
      cpus: backendOptions.cpus ?? defaults.cpus,
      binary: backendOptions.binary ?? defaults.binary,
    };
    const log = backendOptions.log ?? createLogger([streamSink(process.stderr, 'notice')]);
    const accel = chooseAccel(backendOptions.accel ?? 'auto');
    log.info(`emulator: qemu machines under ${accel.accel} (${accel.reason})`);
    // short: unix socket paths are limited to 108 bytes
    const dir = mkdtempSync(join(tmpdir(), 'kola-emu-'));
    runtimeDir = dir;
    process.on('exit', onExit);
    let nets = 0;
    shared = {
      options,
      accel,
      perl: findPerl(),
      relay: writeRelay(dir),
      log,
      async joinNetwork(network, instanceId) {
        let net = networks.get(network);
        if (!net) {
          net = { hub: EthernetHub.listen(join(dir, `net${++nets}.sock`)), members: new Set() };
          networks.set(network, net);
        }
        net.members.add(instanceId);
        return net.hub;
      },
      async leaveNetwork(network, instanceId) {
        const net = networks.get(network);
        if (!net) return;
        net.members.delete(instanceId);
        if (net.members.size) return;
        networks.delete(network);
        await (await net.hub).close();
      },
    };
    return shared;
  };

  const imageFor = (flavor: 'minimal' | 'systemd', signal: AbortSignal | undefined, s: Shared) => {
    let image = images.get(flavor);
    if (!image) {
      const limit = deadline(signal, 15 * 60_000, `building the ${flavor} test image`);
      image = ensureImage(flavor, {
        log: s.log,
        signal: limit,
        ...(s.options.imageCache ? { cacheDir: s.options.imageCache } : {}),
      }).finally(() => releaseDeadline(limit));
      images.set(flavor, image);
      image.catch(() => images.delete(flavor));
    }
    return abortable(image, signal, `building the ${flavor} test image`);
  };

  return {
    kind: 'qemu',
    async start(spec) {
      if (machines.has(spec.instanceId)) throw backendError(`${spec.instanceId} already has a machine`);
      const s = setUp();
      const image = await imageFor(spec.flavor ?? 'minimal', spec.signal, s);
      const dir = join(runtimeDir!, `vm${++vmCount}`);
      mkdirSync(dir);
      const vm = new QemuVm(spec, s, image, dir, `kola-emu-${process.pid}-${vmCount}`, taken, () =>
        machines.delete(spec.instanceId),
      );
      return machines.add(spec.instanceId, vm, () => vm.create());
    },
    live: () => machines.ids(),
    async dispose() {
      await machines.terminateAll('qemu');
      for (const [network, net] of networks) {
        networks.delete(network);
        await (await net.hub).close().catch(() => {});
      }
      if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
      runtimeDir = undefined;
      shared = undefined;
      process.off('exit', onExit);
    },
  };
}

class QemuVm implements BackendMachine {
  sshHost = '';
  sshPort = 22;
  state: BackendMachine['state'] = 'stopped';
  private child: ChildProcess | undefined;
  private qmp: QmpClient | undefined;
  private metadata: MetadataServer | undefined;
  private hub: EthernetHub | undefined;
  private disk: EmulatedVmSpec['disk'];
  private readonly fwCfg: { name: string; file: string }[] = [];
  private boots = 0;
  /** The console of the boots before this QEMU process (each process writes a file of its own). */
  private earlierConsole = '';
  private consolePath = '';
  private readonly logPath: string;
  /** Set while this class powers the VM off or kills it, so an exit is not taken for the guest's. */
  private stopping = false;
  private readonly powerOffListeners = new Set<() => void>();

  constructor(
    readonly spec: MachineSpec,
    private readonly shared: Shared,
    private readonly image: CachedImage,
    private readonly dir: string,
    private readonly name: string,
    private readonly taken: Set<string>,
    private readonly onTerminated: () => void,
  ) {
    this.logPath = join(dir, 'qemu.log');
  }

  /** Everything that outlives a power cycle, then the first boot. */
  async create(): Promise<void> {
    const { spec, shared, image, dir } = this;
    this.metadata = await startMetadataServer(join(dir, 'metadata.sock'), spec.metadata);
    this.hub = await shared.joinNetwork(spec.network, spec.instanceId);
    const mac = privateMac(spec.privateIp);
    const note = join(dir, 'private-network');
    writeFileSync(note, `${mac} ${spec.privateIp}/${shared.options.privatePrefixLength ?? 16}\n`);
    this.fwCfg.push({ name: image.fwCfg?.privateNetwork ?? 'opt/org.mantle-ts/private-network', file: note });
    const userNote = join(dir, 'user-network');
    writeFileSync(userNote, userNetworkNote);
    this.fwCfg.push({ name: image.fwCfg?.userNetwork ?? 'opt/org.mantle-ts/user-network', file: userNote });
    if (image.disk) {
      const overlay = join(dir, 'disk.qcow2');
      await createOverlay(
        { path: join(image.dir, image.disk), format: image.diskFormat },
        overlay,
        spec.signal,
      );
      this.disk = { overlay, device: 'nvme' };
    }
    await this.boot(spec.signal);
  }

  /**
   * The user-data the instance's metadata service serves, when it is a cloud-config or a script: the
   * image's agent (its cloud-init stand-in) takes those from fw_cfg as on the qemu platform, the
   * cloud-config already as JSON (the image has no YAML parser). Read at every boot, as the guest
   * would read it; an Ignition config is left to Ignition, which fetches it itself.
   */
  private async agentNotes(): Promise<{ name: string; file: string }[]> {
    const text = await fetchUserData(this.spec).catch(() => '');
    let userData: UserData;
    try {
      userData = UserData.detect(text);
    } catch {
      return []; // what Ignition makes of it is on the console
    }
    if (userData.kind !== 'script' && userData.kind !== 'cloud-config') return [];
    const names = this.image.fwCfg ?? {};
    const raw = join(this.dir, 'user-data');
    writeFileSync(raw, text);
    const notes = [{ name: names.userData ?? 'opt/org.mantle-ts/user-data', file: raw }];
    if (userData.kind === 'cloud-config') {
      const json = join(this.dir, 'cloud-config.json');
      writeFileSync(json, cloudConfigJson(RenderedUserData.of(userData)));
      notes.push({ name: names.cloudConfigJson ?? 'opt/org.mantle-ts/cloud-config.json', file: json });
    }
    return notes;
  }

  private launchSpec(
    mac: string,
    ssh: { host: string; port: number },
    agentNotes: { name: string; file: string }[],
  ): EmulatedVmSpec {
    const { spec, shared, image } = this;
    const append = [
      image.append,
      `ignition.platform.id=${ignitionPlatformId[spec.provider]}`,
      ...(spec.kernelArgs ?? []),
    ].join(' ');
    return {
      name: this.name,
      accelArgs: shared.accel.args,
      memoryMiB: shared.options.memory,
      cpus: shared.options.cpus,
      qmpSocket: join(this.dir, 'qmp.sock'),
      consoleFile: this.consolePath,
      privateNetwork: { hubSocket: this.hub!.path, mac },
      firmware: { kind: 'bios' },
      kernel: join(image.dir, image.kernel),
      ...(image.initrd ? { initrd: join(image.dir, image.initrd) } : {}),
      append,
      ...(this.disk ? { disk: this.disk } : {}),
      fwCfg: [...this.fwCfg, ...agentNotes],
      ssh,
      guestForward: guestForward(shared.perl, shared.relay, this.metadata!.path),
    };
  }

  /** A loopback address of its own, port 22 where it can be bound (else QEMU picks a port on it). */
  private async claimAddress(): Promise<{ host: string; port: number }> {
    let port = 22;
    let host: string;
    try {
      host = await allocateLoopbackAddress(22, this.taken);
    } catch {
      port = 0;
      host = await allocateLoopbackAddress(0, this.taken);
      this.shared.log.notice(
        `emulator: port 22 cannot be bound here; ${this.spec.instanceId} answers SSH on a high port`,
      );
    }
    this.taken.add(host);
    return { host, port };
  }

  /** Starts QEMU; resolves once QEMU runs (the guest boots on its own, as a cloud's instance does). */
  private async boot(signal: AbortSignal | undefined): Promise<void> {
    const mac = privateMac(this.spec.privateIp);
    const notes = await this.agentNotes();
    for (let attempt = 1; ; attempt++) {
      if (!this.sshHost) {
        const address = await this.claimAddress();
        this.sshHost = address.host;
        this.sshPort = address.port;
      }
      this.consolePath = join(this.dir, `console-${++this.boots}.txt`);
      const argv = emulatedVmArgv(this.launchSpec(mac, { host: this.sshHost, port: this.sshPort }, notes));
      const child = spawnQemu(this.shared.options.binary, argv, { detached: false, logPath: this.logPath });
      if (child.pid === undefined) throw backendError(`could not start ${this.shared.options.binary}`);
      this.child = child;
      this.stopping = false;
      const died = exited(child).then(() => {
        throw backendError(`QEMU exited at start: ${tail(this.logPath) || 'no message'}`);
      });
      died.catch(() => {});
      try {
        const qmp = await Promise.race([
          QmpClient.connect(join(this.dir, 'qmp.sock'), signal ?? AbortSignal.timeout(30_000)),
          died,
        ]);
        this.qmp = qmp;
        if (this.sshPort === 0) {
          const port = parseForwardedPort(await qmp.humanMonitor('info usernet'));
          if (!port) throw backendError('QEMU reports no forwarded SSH port');
          this.sshPort = port;
        }
      } catch (e) {
        await this.kill();
        // another process took the address between the probe and QEMU's bind: a new address
        if (attempt < 3 && /host forwarding/i.test(tail(this.logPath, 20))) {
          this.releaseAddress();
          this.sshHost = '';
          continue;
        }
        throw e;
      }
      this.state = 'running';
      child.once('exit', () => this.onQemuExit(child));
      return;
    }
  }

  /** The guest powered itself off (or QEMU died): a stopped instance, as a cloud shows it. */
  private onQemuExit(child: ChildProcess): void {
    if (this.child !== child || this.stopping) return;
    this.shared.log.notice(
      `emulator: ${this.spec.instanceId}: QEMU exited (${tail(this.logPath, 2) || 'guest power-off'})`,
    );
    this.endProcess();
    if (this.state !== 'running') return;
    this.state = 'stopped';
    for (const listener of [...this.powerOffListeners]) listener();
  }

  onGuestPowerOff(listener: () => void): () => void {
    this.powerOffListeners.add(listener);
    return () => this.powerOffListeners.delete(listener);
  }

  /**
   * The disk as the guest left it: the overlay and the image under it, flattened by `qemu-img convert`
   * to a raw file (sparse where the disk reads as zeros). Refused while QEMU runs: the copy would be
   * of a disk being written.
   */
  async exportDisk(dest: string, signal?: AbortSignal): Promise<void> {
    if (this.state !== 'stopped' || this.child)
      throw backendError(
        `${this.spec.instanceId} is ${this.state}: only a stopped machine's disk is exported`,
      );
    if (!this.disk)
      throw backendError(`${this.spec.instanceId} boots without a disk (the ${this.image.flavor} image)`);
    try {
      await execFileAsync(
        'qemu-img',
        ['convert', '-q', '-f', 'qcow2', '-O', 'raw', this.disk.overlay, dest],
        {
          ...(signal ? { signal } : {}),
        },
      );
    } catch (e) {
      rmSync(dest, { force: true });
      throw backendError(`qemu-img convert of ${this.spec.instanceId}'s disk failed: ${errorMessage(e)}`);
    }
  }

  /** Forgets the QEMU process that has ended: its console joins the earlier boots'. */
  private endProcess(): void {
    this.earlierConsole += this.currentConsole();
    this.qmp?.close();
    this.qmp = undefined;
    this.child = undefined;
  }

  private currentConsole(): string {
    try {
      return this.consolePath ? readFileSync(this.consolePath, 'utf8') : '';
    } catch {
      return '';
    }
  }

  consoleOutput(): string {
    return this.earlierConsole + (this.child ? this.currentConsole() : '');
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    await killQemu({ pid: child.pid ?? 0, name: this.name, runtimeDir: '' });
    await exited(child);
    this.endProcess();
  }

  /** At process exit: no time for anything but the signal. */
  killNow(): void {
    try {
      if (this.child?.pid) process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private releaseAddress(): void {
    if (this.sshHost) this.taken.delete(this.sshHost);
  }

  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    const child = this.child;
    if (child && this.qmp) {
      this.stopping = true;
      try {
        await Promise.race([this.qmp.execute('system_powerdown'), sleep(1000)]);
        await Promise.race([exited(child), sleep(this.shared.options.powerOffGraceMs ?? 10_000)]);
      } catch (e) {
        this.shared.log.debug('emulator: power-off', { error: errorMessage(e) });
      }
    }
    await this.kill();
    this.state = 'stopped';
  }

  async start(): Promise<void> {
    if (this.state === 'running') return;
    if (this.state === 'terminated') throw backendError(`${this.spec.instanceId} is terminated`);
    await this.boot(this.spec.signal);
  }

  /** A hard reset (QMP system_reset), as a cloud's reboot of an instance that does not answer ACPI is. */
  async reboot(): Promise<void> {
    if (this.state !== 'running' || !this.qmp) return;
    await this.qmp.execute('system_reset');
  }

  async terminate(): Promise<void> {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    await this.kill();
    await this.metadata?.close();
    if (this.hub) await this.shared.leaveNetwork(this.spec.network, this.spec.instanceId);
    rmSync(this.dir, { recursive: true, force: true });
    this.releaseAddress();
    this.onTerminated();
  }
}
