/**
 * QEMU's command line for one machine, as a pure function of plain data: the caller creates the files
 * and sockets, picks the name and paths, and passes them in, so the argv can be tested without QEMU.
 *
 * Paths inside QEMU's `key=value,...` option syntax have their commas doubled (`optionValue`).
 */
export interface QemuLaunchSpec {
  /** `-name`: also how `kola cleanup` recognises the process in /proc/<pid>/cmdline. */
  name: string;
  /** Selects the accelerator and CPU model (`Accel.args` from accel.ts). */
  accelArgs: readonly string[];
  memoryMiB: number;
  cpus: number;
  qmpSocket: string;
  /** The serial console is written to this file. */
  consoleFile: string;
  /** NIC 1: the cluster's private network, a `-netdev stream` to the hub's unix socket. */
  privateNetwork: { hubSocket: string; mac: string };
  /** UEFI boots from OVMF pflash: the read-only code, and this machine's own copy of the variables. */
  firmware: { kind: 'bios' } | { kind: 'uefi'; code: string; vars: string };
  /** Direct kernel boot. */
  kernel?: string;
  initrd?: string;
  append?: string;
  /** The machine's qcow2 overlay over the base image, and the device it is attached as. */
  disk?: { overlay: string; device: 'nvme' | 'virtio' };
  /** fw_cfg entries, in order: the name the guest reads, and the file holding its contents. */
  fwCfg: readonly { name: string; file: string }[];
}

/** NIC 0, user-mode networking: the guest's SSH on a host port QEMU picks (read back over QMP). */
const sshForward = 'user,id=n0,hostfwd=tcp:127.0.0.1:0-:22';

function firmwareArgs(firmware: QemuLaunchSpec['firmware']): string[] {
  if (firmware.kind !== 'uefi') return [];
  return [
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${optionValue(firmware.code)}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${optionValue(firmware.vars)}`,
  ];
}

function diskArgs(disk: QemuLaunchSpec['disk']): string[] {
  if (!disk) return [];
  if (disk.device === 'virtio') return ['-drive', `if=virtio,file=${optionValue(disk.overlay)},format=qcow2`];
  return [
    '-drive',
    `if=none,id=d0,file=${optionValue(disk.overlay)},format=qcow2`,
    '-device',
    'nvme,drive=d0,serial=primary-disk',
  ];
}

/** The arguments after the binary (setpriv wrapping, where used, is process.ts's business). */
/**
 * A value inside QEMU's `key=value,…` option syntax: a comma is doubled, or QEMU would read what
 * follows it as the next key (an output directory or TMPDIR with a comma in it).
 */
export function optionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function qemuArgv(spec: QemuLaunchSpec): string[] {
  return [
    '-name',
    spec.name,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-M',
    'q35',
    ...spec.accelArgs,
    '-m',
    String(spec.memoryMiB),
    '-smp',
    String(spec.cpus),
    '-qmp',
    `unix:${optionValue(spec.qmpSocket)},server=on,wait=off`,
    '-chardev',
    `file,id=console,path=${optionValue(spec.consoleFile)}`,
    '-serial',
    'chardev:console',
    '-netdev',
    sshForward,
    '-device',
    'virtio-net-pci,netdev=n0',
    '-netdev',
    `stream,id=p0,server=off,addr.type=unix,addr.path=${optionValue(spec.privateNetwork.hubSocket)}`,
    '-device',
    `virtio-net-pci,netdev=p0,mac=${spec.privateNetwork.mac}`,
    '-device',
    'virtio-rng-pci',
    ...firmwareArgs(spec.firmware),
    ...(spec.kernel ? ['-kernel', spec.kernel] : []),
    ...(spec.initrd ? ['-initrd', spec.initrd] : []),
    ...(spec.append ? ['-append', spec.append] : []),
    ...diskArgs(spec.disk),
    ...spec.fwCfg.flatMap((entry) => ['-fw_cfg', `name=${entry.name},file=${optionValue(entry.file)}`]),
  ];
}
