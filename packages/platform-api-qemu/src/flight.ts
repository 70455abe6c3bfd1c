import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type BaseCluster,
  BaseFlight,
  type ClusterConfig,
  ConfigError,
  type PlatformContext,
  Semaphore,
} from '@mantle/cluster';
import { type Accel, chooseAccel } from './accel.js';
import { QemuCluster } from './cluster.js';
import { ovmfCode } from './firmware.js';
import { EthernetHub } from './hub.js';
import { ensureImage } from './image.js';
import type { QemuOptions } from './options.js';
import { type ResolvedQemu, resolvedProperties } from './resolved.js';

export interface BootSpec {
  kernel?: string;
  initrd?: string;
  append?: string;
  disk?: { path: string; format: string; device: 'nvme' | 'virtio' };
  firmware: 'bios' | 'uefi';
}

const setupHint = 'run bash scripts/setup-qemu.sh, or apt-get install -y qemu-system-x86 qemu-utils';

/** The first line of `<binary> --version`, or a ConfigError naming the missing tool. */
function toolVersion(binary: string, flag: string): string {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new ConfigError(`${flag}: cannot run ${binary}: ${r.error?.message ?? `exit ${r.status}`}`, {
      hint: setupHint,
    });
  }
  return r.stdout.split('\n')[0]?.trim() ?? '';
}

function existingFile(path: string, flag: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigError(`${flag} ${path}: no such file`);
  return abs;
}

function diskFormat(path: string): string {
  const r = spawnSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new ConfigError(`--qemu-image ${path}: not a disk image qemu-img can read: ${r.stderr.trim()}`);
  return (JSON.parse(r.stdout) as { format: string }).format;
}

export class QemuFlight extends BaseFlight {
  private clusterCount = 0;
  /**
   * VMs booting at once. Booting is what loads the host: under TCG, one VM per core boots at full
   * speed and more slow every boot down super-linearly (docs/performance.md), so clusters of several
   * machines and parallel tests queue here.
   */
  readonly bootSlots: Semaphore;

  private constructor(
    ctx: PlatformContext,
    readonly options: QemuOptions,
    readonly boot: BootSpec,
    readonly accel: Accel,
    /** Sockets, overlays and fw_cfg files; short path (unix socket names are limited to 108 bytes). */
    readonly runtimeDir: string,
    private readonly resolved: ResolvedQemu,
  ) {
    super(ctx, 'qemu');
    const perCore = accel.accel === 'kvm' ? 2 : 1;
    this.bootSlots = new Semaphore(
      Math.max(1, Math.floor((availableParallelism() * perCore) / options.cpus)),
    );
  }

  static async create(options: QemuOptions, ctx: PlatformContext): Promise<QemuFlight> {
    const qemuVersion = toolVersion(options.binary, '--qemu-binary');
    toolVersion('qemu-img', 'qemu-img');
    const accel = chooseAccel(options.accel);
    ctx.log.notice(`qemu: ${accel.accel === 'kvm' ? 'KVM' : 'TCG (software emulation)'} — ${accel.reason}`);
    if (options.firmware === 'uefi' && !existsSync(ovmfCode)) {
      throw new ConfigError(`--qemu-firmware uefi: ${ovmfCode} not found`, {
        hint: 'apt-get install -y ovmf',
      });
    }
    let boot: BootSpec;
    let kernelVersion: string | undefined;
    let flavor: string | undefined;
    if (options.kernel) {
      boot = { kernel: existingFile(options.kernel, '--qemu-kernel'), firmware: options.firmware };
      if (options.initrd) boot.initrd = existingFile(options.initrd, '--qemu-initrd');
      if (options.append) boot.append = options.append;
      if (options.image) {
        const path = existingFile(options.image, '--qemu-image');
        boot.disk = { path, format: diskFormat(path), device: 'virtio' };
      }
    } else if (options.image) {
      const path = existingFile(options.image, '--qemu-image');
      boot = { disk: { path, format: diskFormat(path), device: 'virtio' }, firmware: options.firmware };
    } else {
      const image = await ensureImage(options.flavor, {
        log: ctx.log,
        signal: ctx.signal,
        rebuild: options.rebuildImage,
        ...(options.imageCache ? { cacheDir: options.imageCache } : {}),
      });
      boot = { kernel: join(image.dir, image.kernel), append: image.append, firmware: 'bios' };
      if (image.initrd) boot.initrd = join(image.dir, image.initrd);
      if (image.disk)
        boot.disk = { path: join(image.dir, image.disk), format: image.diskFormat ?? 'raw', device: 'nvme' };
      kernelVersion = image.kernelVersion;
      flavor = image.flavor;
      ctx.log.info('qemu: test image', { flavor: image.flavor, dir: image.dir });
    }
    const resolved: ResolvedQemu = {
      ...(boot.disk ? { image: boot.disk.path } : {}),
      ...(boot.kernel ? { kernel: boot.kernel } : {}),
      ...(boot.initrd ? { initrd: boot.initrd } : {}),
      ...(boot.append ? { append: boot.append } : {}),
      ...(kernelVersion ? { kernelVersion } : {}),
      ...(flavor ? { flavor } : {}),
      accel: accel.accel,
      accelReason: accel.reason,
      qemuVersion,
    };
    const runtimeDir = mkdtempSync(join(tmpdir(), 'kola-qemu-'));
    return new QemuFlight(ctx, options, boot, accel, runtimeDir, resolved);
  }

  override properties(): Record<string, unknown> {
    return resolvedProperties(this.resolved);
  }

  protected async createCluster(config: ClusterConfig): Promise<BaseCluster> {
    const hub = await EthernetHub.listen(join(this.runtimeDir, `net${++this.clusterCount}.sock`));
    return new QemuCluster(this, config, hub);
  }

  protected override async destroyFlightResources(): Promise<void> {
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}
