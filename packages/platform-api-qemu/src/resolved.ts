import type { QemuOptions } from './options.js';

/** What a flight resolved from the options (image built, accelerator probed), for properties.json. */
export interface ResolvedQemu {
  image?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  flavor?: string;
  kernelVersion?: string;
  accel: string;
  accelReason: string;
  qemuVersion: string;
}

const resolutions = new WeakMap<QemuOptions, ResolvedQemu>();

export function recordResolution(options: QemuOptions, resolved: ResolvedQemu): void {
  resolutions.set(options, resolved);
}

/** mantle's qemu block ({image}) plus what the run really used. */
export function propertiesOf(options: QemuOptions): Record<string, unknown> {
  const r = resolutions.get(options);
  return {
    image: r?.image ?? options.image ?? '',
    kernel: r?.kernel ?? options.kernel ?? '',
    initrd: r?.initrd ?? options.initrd ?? '',
    append: r?.append ?? options.append ?? '',
    flavor: options.image || options.kernel ? '' : options.flavor,
    kernelVersion: r?.kernelVersion ?? '',
    accel: r?.accel ?? options.accel,
    accelReason: r?.accelReason ?? '',
    memory: options.memory,
    cpus: options.cpus,
    firmware: options.firmware,
    binary: options.binary,
    qemuVersion: r?.qemuVersion ?? '',
  };
}
