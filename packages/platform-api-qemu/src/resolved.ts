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

/** mantle's qemu block ({image}) from the options alone, before any flight resolved them. */
export function propertiesOf(options: QemuOptions): Record<string, unknown> {
  return {
    image: options.image ?? '',
    kernel: options.kernel ?? '',
    initrd: options.initrd ?? '',
    append: options.append ?? '',
    flavor: options.image || options.kernel ? '' : options.flavor,
    kernelVersion: '',
    accel: options.accel,
    accelReason: '',
    memory: options.memory,
    cpus: options.cpus,
    firmware: options.firmware,
    binary: options.binary,
    qemuVersion: '',
  };
}

/** What the run really used, over the options' values. */
export function resolvedProperties(resolved: ResolvedQemu): Record<string, unknown> {
  return Object.fromEntries(Object.entries(resolved).filter(([, v]) => v !== undefined));
}
