import { describe, expect, it } from 'vitest';
import { chooseAccel, type HostFacts } from './accel.js';
import { type QemuLaunchSpec, qemuArgv } from './argv.js';
import { privateAddress } from './cluster.js';

const hardwareKvm: HostFacts = {
  kvmDevice: true,
  kvmUsable: true,
  cpuFlags: 'flags : vmx',
  softwareKvm: false,
};
const dir = '/tmp/kola-qemu-ab12/qemu-0badcafe';

/** A machine booted by firmware from an image given with --qemu-image, under TCG, with Ignition. */
const firmwareBoot: QemuLaunchSpec = {
  name: 'qemu-0badcafe',
  accelArgs: chooseAccel('tcg', hardwareKvm).args,
  memoryMiB: 512,
  cpus: 1,
  qmpSocket: `${dir}/qmp.sock`,
  consoleFile: '/out/basic/qemu-0badcafe/console.txt',
  privateNetwork: { hubSocket: '/tmp/kola-qemu-ab12/net1.sock', mac: 'aa:bb:cc:dd:ee:01' },
  firmware: { kind: 'bios' },
  disk: { overlay: `${dir}/disk.qcow2`, device: 'virtio' },
  fwCfg: [
    { name: 'opt/com.coreos/config', file: `${dir}/config.ign` },
    { name: 'opt/org.mantle-ts/private-network', file: `${dir}/private-network` },
  ],
};

/** Everything up to the accelerator, which every machine gets. */
const head = ['-name', 'qemu-0badcafe', '-nodefaults', '-no-user-config', '-display', 'none', '-M', 'q35'];
const tcg = ['-accel', 'tcg', '-cpu', 'qemu64,+rdrand'];
/** From memory to the RNG, for firmwareBoot's values. */
const machine = [
  '-m',
  '512',
  '-smp',
  '1',
  '-qmp',
  `unix:${dir}/qmp.sock,server=on,wait=off`,
  '-chardev',
  'file,id=console,path=/out/basic/qemu-0badcafe/console.txt',
  '-serial',
  'chardev:console',
  '-netdev',
  'user,id=n0,hostfwd=tcp:127.0.0.1:0-:22',
  '-device',
  'virtio-net-pci,netdev=n0',
  '-netdev',
  'stream,id=p0,server=off,addr.type=unix,addr.path=/tmp/kola-qemu-ab12/net1.sock',
  '-device',
  'virtio-net-pci,netdev=p0,mac=aa:bb:cc:dd:ee:01',
  '-device',
  'virtio-rng-pci',
];
const virtioDisk = ['-drive', `if=virtio,file=${dir}/disk.qcow2,format=qcow2`];
const ignitionFwCfg = [
  '-fw_cfg',
  `name=opt/com.coreos/config,file=${dir}/config.ign`,
  '-fw_cfg',
  `name=opt/org.mantle-ts/private-network,file=${dir}/private-network`,
];

describe('qemuArgv', () => {
  it('boots an image with BIOS: no pflash, no kernel, the overlay as a virtio disk', () => {
    expect(qemuArgv(firmwareBoot)).toEqual([...head, ...tcg, ...machine, ...virtioDisk, ...ignitionFwCfg]);
  });

  it('boots an image with UEFI: OVMF code read-only and the machine’s own variable store, before the disk', () => {
    const argv = qemuArgv({
      ...firmwareBoot,
      firmware: { kind: 'uefi', code: '/usr/share/OVMF/OVMF_CODE.fd', vars: `${dir}/OVMF_VARS.fd` },
    });
    expect(argv).toEqual([
      ...head,
      ...tcg,
      ...machine,
      '-drive',
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd',
      '-drive',
      `if=pflash,format=raw,unit=1,file=${dir}/OVMF_VARS.fd`,
      ...virtioDisk,
      ...ignitionFwCfg,
    ]);
  });

  it('boots a kernel directly with its initrd and command line, the root disk on NVMe', () => {
    const argv = qemuArgv({
      ...firmwareBoot,
      kernel: '/cache/systemd-1f2e/vmlinuz',
      initrd: '/cache/systemd-1f2e/initrd.img',
      append: 'console=ttyS0 root=/dev/nvme0n1 quiet',
      disk: { overlay: `${dir}/disk.qcow2`, device: 'nvme' },
    });
    expect(argv).toEqual([
      ...head,
      ...tcg,
      ...machine,
      '-kernel',
      '/cache/systemd-1f2e/vmlinuz',
      '-initrd',
      '/cache/systemd-1f2e/initrd.img',
      '-append',
      'console=ttyS0 root=/dev/nvme0n1 quiet',
      '-drive',
      `if=none,id=d0,file=${dir}/disk.qcow2,format=qcow2`,
      '-device',
      'nvme,drive=d0,serial=primary-disk',
      ...ignitionFwCfg,
    ]);
  });

  it('leaves out -initrd, an empty -append and the disk when there are none', () => {
    const argv = qemuArgv({ ...firmwareBoot, kernel: '/k/bzImage', append: '', disk: undefined });
    expect(argv).toEqual([...head, ...tcg, ...machine, '-kernel', '/k/bzImage', ...ignitionFwCfg]);
  });

  it('selects KVM with the host CPU, or TCG with the rdrand CPU, right after the machine type', () => {
    const kvm = qemuArgv({ ...firmwareBoot, accelArgs: chooseAccel('kvm', hardwareKvm).args });
    expect(kvm).toEqual([
      ...head,
      '-accel',
      'kvm',
      '-cpu',
      'host',
      ...machine,
      ...virtioDisk,
      ...ignitionFwCfg,
    ]);
    expect(qemuArgv(firmwareBoot).slice(head.length, head.length + tcg.length)).toEqual(tcg);
  });

  it('joins the cluster network through the hub socket with the slot’s MAC', () => {
    const { mac } = privateAddress(12);
    const argv = qemuArgv({
      ...firmwareBoot,
      privateNetwork: { hubSocket: '/tmp/kola-qemu-ab12/net3.sock', mac },
    });
    const at = argv.indexOf('stream,id=p0,server=off,addr.type=unix,addr.path=/tmp/kola-qemu-ab12/net3.sock');
    expect(argv.slice(at - 1, at + 3)).toEqual([
      '-netdev',
      'stream,id=p0,server=off,addr.type=unix,addr.path=/tmp/kola-qemu-ab12/net3.sock',
      '-device',
      'virtio-net-pci,netdev=p0,mac=aa:bb:cc:dd:ee:0c',
    ]);
    // slirp's NIC stays first, so it is the guest's first interface
    expect(argv.indexOf('virtio-net-pci,netdev=n0')).toBeLessThan(at);
  });

  it('passes userdata as fw_cfg files, in the order given, last on the command line', () => {
    const argv = qemuArgv({
      ...firmwareBoot,
      fwCfg: [
        { name: 'opt/org.mantle-ts/user-data', file: `${dir}/user-data` },
        { name: 'opt/org.mantle-ts/cloud-config.json', file: `${dir}/cloud-config.json` },
        { name: 'opt/org.mantle-ts/private-network', file: `${dir}/private-network` },
      ],
    });
    expect(argv.slice(-6)).toEqual([
      '-fw_cfg',
      `name=opt/org.mantle-ts/user-data,file=${dir}/user-data`,
      '-fw_cfg',
      `name=opt/org.mantle-ts/cloud-config.json,file=${dir}/cloud-config.json`,
      '-fw_cfg',
      `name=opt/org.mantle-ts/private-network,file=${dir}/private-network`,
    ]);
    expect(argv.filter((a) => a === '-fw_cfg')).toHaveLength(3);
  });

  it('uses the memory and CPU count as given', () => {
    const argv = qemuArgv({ ...firmwareBoot, memoryMiB: 2048, cpus: 4 });
    expect(argv.slice(argv.indexOf('-m'), argv.indexOf('-m') + 4)).toEqual(['-m', '2048', '-smp', '4']);
  });

  it('doubles commas in paths inside option values, as the option syntax of QEMU needs', () => {
    const argv = qemuArgv({
      ...firmwareBoot,
      consoleFile: '/out/a,b/console.txt',
      disk: { overlay: '/tmp/x,y/disk.qcow2', device: 'virtio' },
      fwCfg: [{ name: 'opt/com.coreos/config', file: '/tmp/x,y/config.ign' }],
    });
    expect(argv).toContain('file,id=console,path=/out/a,,b/console.txt');
    expect(argv).toContain('if=virtio,file=/tmp/x,,y/disk.qcow2,format=qcow2');
    expect(argv).toContain('name=opt/com.coreos/config,file=/tmp/x,,y/config.ign');
  });
});
