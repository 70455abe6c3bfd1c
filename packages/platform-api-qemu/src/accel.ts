import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '@mantle/cluster';

export type AccelMode = 'auto' | 'kvm' | 'tcg';

export interface Accel {
  accel: 'kvm' | 'tcg';
  /** Why this accelerator was chosen, for the log and properties.json. */
  reason: string;
  /** QEMU arguments selecting it. */
  args: string[];
  /** Multiplier for boot-related timeouts: TCG emulates the CPU and boots far slower than KVM. */
  timeoutScale: number;
}

export interface HostFacts {
  kvmDevice: boolean;
  kvmUsable: boolean;
  cpuFlags: string;
  softwareKvm: boolean;
}

export function readHostFacts(): HostFacts {
  const kvmDevice = existsSync('/dev/kvm');
  let kvmUsable = false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    kvmUsable = true;
  } catch {
    kvmUsable = false;
  }
  let cpuFlags = '';
  try {
    cpuFlags = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    cpuFlags = '';
  }
  return { kvmDevice, kvmUsable, cpuFlags, softwareKvm: existsSync('/sys/module/kvm_pvm') };
}

/** Why KVM cannot work here, or undefined when it can. */
export function kvmProblem(host: HostFacts): string | undefined {
  if (!host.kvmDevice) return '/dev/kvm does not exist';
  if (!host.kvmUsable) return '/dev/kvm is not readable and writable by this user (add it to the kvm group)';
  if (!/\b(vmx|svm)\b/.test(host.cpuFlags))
    return 'the CPU exposes no hardware virtualisation (no vmx/svm in /proc/cpuinfo)';
  // A software KVM (kvm_pvm, e.g. inside a Firecracker guest) kills ordinary guests with
  // "KVM internal error": treat it as absent.
  if (host.softwareKvm) return '/dev/kvm is a software KVM (kvm_pvm) that cannot run ordinary guests';
  return undefined;
}

const tcg: Omit<Accel, 'reason'> = {
  accel: 'tcg',
  // +rdrand: the guest kernel trusts RDRAND, instead of waiting for entropy on every boot
  args: ['-accel', 'tcg', '-cpu', 'qemu64,+rdrand'],
  timeoutScale: 10,
};
const kvm: Omit<Accel, 'reason'> = { accel: 'kvm', args: ['-accel', 'kvm', '-cpu', 'host'], timeoutScale: 1 };

/** Picks the accelerator: `auto` really probes (a present /dev/kvm is not enough). */
export function chooseAccel(mode: AccelMode, host: HostFacts = readHostFacts()): Accel {
  const problem = kvmProblem(host);
  if (mode === 'tcg') return { ...tcg, reason: 'requested with --qemu-accel tcg' };
  if (mode === 'kvm') {
    if (problem)
      throw new ConfigError(`--qemu-accel kvm: ${problem}`, { hint: 'use --qemu-accel auto or tcg' });
    return { ...kvm, reason: 'requested with --qemu-accel kvm' };
  }
  return problem ? { ...tcg, reason: `KVM unusable: ${problem}` } : { ...kvm, reason: 'KVM available' };
}
