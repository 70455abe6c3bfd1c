import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  BaseMachine,
  type CreateMachineRequest,
  errorMessage,
  PlatformApiError,
  type RenderedUserData,
  sleep,
} from '@mantle/cluster';
import { type QemuLaunchSpec, qemuArgv } from './argv.js';
import { privateAddress, type QemuCluster } from './cluster.js';
import { ovmfCode, ovmfVars } from './firmware.js';
import { createOverlay } from './overlay.js';
import { exited, killQemu, spawnQemu } from './process.js';
import { parseForwardedPort, QmpClient } from './qmp.js';

/** fw_cfg names: Ignition's own (what Flatcar/FCOS read on QEMU), and ours for the rest. */
export const fwCfg = {
  ignition: 'opt/com.coreos/config',
  userData: 'opt/org.mantle-ts/user-data',
  cloudConfigJson: 'opt/org.mantle-ts/cloud-config.json',
  privateNetwork: 'opt/org.mantle-ts/private-network',
} as const;

/** How long ACPI power-off may take before the VM is killed (logs are already saved by then). */
const powerOffGraceMs = 5000;

interface QemuRuntime {
  child: ChildProcess;
  qmp: QmpClient;
  dir: string;
  consolePath: string;
  logPath: string;
}

function networkdFile(mac: string, ip: string): string {
  return [
    '[Match]',
    `MACAddress=${mac}`,
    '',
    '[Link]',
    'RequiredForOnline=no',
    '',
    '[Network]',
    `Address=${ip}/24`,
    'DHCP=no',
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    // our test image brings the address up before systemd; networkd keeps it rather than re-adding
    'KeepConfiguration=static',
    '',
  ].join('\n');
}

/**
 * cloud-config as JSON for the image's agent (it has jq, not a YAML parser). Keys it does not handle
 * are listed, so the guest can say on its console what it ignored.
 */
export function cloudConfigJson(rendered: RenderedUserData): string {
  const config = (rendered.cloudConfig ?? {}) as Record<string, unknown>;
  const handled = ['ssh_authorized_keys', 'hostname', 'write_files', 'runcmd', 'users'];
  const out: Record<string, unknown> = {
    unknown_keys: Object.keys(config).filter((k) => !handled.includes(k)),
  };
  for (const key of handled) if (config[key] !== undefined) out[key] = config[key];
  return JSON.stringify(out);
}

function tail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

export class QemuMachine extends BaseMachine {
  protected override readonly consoleIsLiveFile = true;

  private constructor(
    cluster: QemuCluster,
    init: ConstructorParameters<typeof BaseMachine>[1],
    private readonly runtime: QemuRuntime,
  ) {
    super(cluster, init);
  }

  static async start(
    cluster: QemuCluster,
    request: CreateMachineRequest,
    slot: number,
  ): Promise<QemuMachine> {
    const releaseBootSlot = await cluster.qemuFlight.bootSlots.acquire(request.signal);
    try {
      const machine = await QemuMachine.launch(cluster, request, slot);
      machine.releaseBootSlot = releaseBootSlot;
      return machine;
    } catch (e) {
      releaseBootSlot();
      throw e;
    }
  }

  /** Released once the machine answers SSH (or is gone): boots, not running VMs, are limited. */
  private releaseBootSlot: () => void = () => {};

  private static async launch(
    cluster: QemuCluster,
    request: CreateMachineRequest,
    slot: number,
  ): Promise<QemuMachine> {
    const flight = cluster.qemuFlight;
    const ctx = cluster.ctx;
    const id = `qemu-${randomBytes(4).toString('hex')}`;
    const dir = join(flight.runtimeDir, id);
    const outputDir = join(cluster.outputDir, id);
    mkdirSync(dir, { recursive: true });
    mkdirSync(outputDir, { recursive: true });
    const { ip, mac } = privateAddress(slot);

    // The private NIC is configured the way real images (Flatcar) expect it: a networkd file matched by
    // MAC in the config; the fw_cfg note serves images without networkd and userdata without files.
    const userData = request.userData;
    if (userData.kind !== 'script') {
      userData.addFile('/etc/systemd/network/10-kola-private.network', networkdFile(mac, ip), 0o644);
    }
    const fwCfgEntries: { name: string; file: string }[] = [];
    const addFw = (name: string, file: string, contents: string) => {
      writeFileSync(join(dir, file), contents);
      fwCfgEntries.push({ name, file: join(dir, file) });
    };
    if (userData.kind === 'ignition') addFw(fwCfg.ignition, 'config.ign', userData.toString());
    else {
      addFw(fwCfg.userData, 'user-data', userData.toString());
      if (userData.kind === 'cloud-config')
        addFw(fwCfg.cloudConfigJson, 'cloud-config.json', cloudConfigJson(userData));
    }
    addFw(fwCfg.privateNetwork, 'private-network', `${mac} ${ip}/24\n`);

    const boot = flight.boot;
    let disk: QemuLaunchSpec['disk'];
    if (boot.disk) {
      const overlay = join(dir, 'disk.qcow2');
      await createOverlay(boot.disk, overlay, request.signal);
      disk = { overlay, device: boot.disk.device };
    }
    let firmware: QemuLaunchSpec['firmware'] = { kind: 'bios' };
    if (boot.firmware === 'uefi') {
      firmware = { kind: 'uefi', code: ovmfCode, vars: join(dir, 'OVMF_VARS.fd') };
      copyFileSync(ovmfVars, firmware.vars);
    }
    const consolePath = join(outputDir, 'console.txt');
    const qmpPath = join(dir, 'qmp.sock');
    const options = flight.options;
    const args = qemuArgv({
      name: id,
      accelArgs: flight.accel.args,
      memoryMiB: options.memory,
      cpus: options.cpus,
      qmpSocket: qmpPath,
      consoleFile: consolePath,
      privateNetwork: { hubSocket: cluster.hub.path, mac },
      firmware,
      kernel: boot.kernel,
      initrd: boot.initrd,
      append: boot.append,
      disk,
      fwCfg: fwCfgEntries,
    });
    const logPath = join(dir, 'qemu.log');
    const child = spawnQemu(options.binary, args, { detached: ctx.detached ?? false, logPath });
    const pid = child.pid;
    if (pid === undefined)
      throw new PlatformApiError(
        { platform: 'qemu', operation: 'start' },
        `could not start ${options.binary}`,
      );
    const ledgerKey = ctx.ledger.created({
      platform: 'qemu',
      kind: 'process',
      id,
      data: { pid, name: id, runtimeDir: dir },
      ...(cluster.config.test ? { test: cluster.config.test } : {}),
      cluster: cluster.name,
    });
    cluster.log.debug('qemu started', { machine: id, pid, args: args.join(' ') });
    try {
      const died = exited(child).then(() => {
        throw new PlatformApiError(
          { platform: 'qemu', operation: 'start' },
          `QEMU exited at start: ${tail(logPath)}`,
        );
      });
      const qmp = await Promise.race([QmpClient.connect(qmpPath, request.signal), died]);
      const port = parseForwardedPort(await qmp.humanMonitor('info usernet'));
      if (!port)
        throw new PlatformApiError({ platform: 'qemu', operation: 'info usernet' }, 'no forwarded SSH port');
      died.catch(() => {});
      return new QemuMachine(
        cluster,
        { id, ip: '127.0.0.1', privateIp: ip, sshEndpoint: { host: '127.0.0.1', port }, ledgerKey },
        { child, qmp, dir, consolePath, logPath },
      );
    } catch (e) {
      await killQemu({ pid, name: id, runtimeDir: dir });
      ctx.ledger.destroyed(ledgerKey);
      throw e;
    }
  }

  /** Waits for SSH, but gives up at once, with QEMU's own words, if the VM process dies. */
  override async waitReady(signal?: AbortSignal): Promise<void> {
    const died = exited(this.runtime.child).then(() => {
      throw new PlatformApiError(
        { platform: 'qemu', operation: 'boot' },
        `QEMU exited while ${this.id} was booting: ${tail(this.runtime.logPath) || 'no message'}; console: ${tail(this.runtime.consolePath, 3)}`,
      );
    });
    died.catch(() => {});
    try {
      await Promise.race([super.waitReady(signal), died]);
    } finally {
      this.releaseBootSlot();
    }
  }

  async consoleOutput(): Promise<string> {
    return existsSync(this.runtime.consolePath) ? readFileSync(this.runtime.consolePath, 'utf8') : '';
  }

  watchConsole(onText: (text: string) => void, signal: AbortSignal): void {
    let offset = 0;
    const poll = () => {
      if (signal.aborted) return;
      try {
        const size = existsSync(this.runtime.consolePath) ? statSync(this.runtime.consolePath).size : 0;
        if (size > offset) {
          const fd = openSync(this.runtime.consolePath, 'r');
          const buf = Buffer.alloc(size - offset);
          readSync(fd, buf, 0, buf.length, offset);
          closeSync(fd);
          offset = size;
          onText(buf.toString('utf8'));
        }
      } catch (e) {
        this.log.debug('console watch', { error: errorMessage(e) });
      }
      timer = setTimeout(poll, 500);
      timer.unref();
    };
    let timer = setTimeout(poll, 0);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  protected override async journalExport(): Promise<Buffer | undefined> {
    if (!this.session.everConnected) return undefined;
    const r = await this.ssh('command -v journalctl >/dev/null && journalctl --no-pager -o export', {
      check: false,
      timeoutMs: 60_000,
      connectTimeoutMs: 15_000,
      signal: AbortSignal.timeout(90_000),
    });
    return r.exitCode === 0 && r.stdout ? Buffer.from(r.stdout) : undefined;
  }

  /** ACPI power-off first (a clean shutdown), then kill after a short grace. */
  protected async terminate(signal: AbortSignal): Promise<void> {
    this.releaseBootSlot();
    const { child, qmp } = this.runtime;
    try {
      await Promise.race([qmp.execute('system_powerdown'), sleep(1000, signal)]);
      await Promise.race([exited(child), sleep(powerOffGraceMs, signal)]);
    } catch (e) {
      this.log.debug('power-off', { error: errorMessage(e) });
    }
    qmp.close();
    await killQemu({ pid: child.pid ?? 0, name: this.id, runtimeDir: this.runtime.dir });
    await exited(child);
  }
}
