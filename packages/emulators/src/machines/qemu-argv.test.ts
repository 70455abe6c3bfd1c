import { describe, expect, it } from 'vitest';
import { privateMac } from './qemu.js';
import { emulatedVmArgv, userNetworkNote } from './qemu-argv.js';

const spec = {
  name: 'kola-emu-1-1',
  accelArgs: ['-accel', 'tcg'],
  memoryMiB: 512,
  cpus: 1,
  qmpSocket: '/tmp/e/vm1/qmp.sock',
  consoleFile: '/tmp/e/vm1/console-1.txt',
  privateNetwork: { hubSocket: '/tmp/e/net1.sock', mac: '52:54:00:1f:07:09' },
  firmware: { kind: 'bios' as const },
  kernel: '/img/vmlinux',
  initrd: '/img/initramfs.cpio',
  append: 'console=ttyS0 ignition.platform.id=aws',
  fwCfg: [{ name: 'opt/org.mantle-ts/private-network', file: '/tmp/e/vm1/private-network' }],
  ssh: { host: '127.10.3.4', port: 22 },
  guestForward: "tcp:169.254.169.254:80-cmd:'/usr/bin/perl' '/tmp/a,b/relay.pl' '/tmp/a,b/md.sock'",
};

describe('emulatedVmArgv', () => {
  it("replaces the qemu platform's user network: SSH from the instance's address, the metadata address served", () => {
    const argv = emulatedVmArgv(spec);
    const netdevs = argv.flatMap((a, i) => (argv[i - 1] === '-netdev' ? [a] : []));
    expect(netdevs).toHaveLength(2);
    const user = netdevs[0] ?? '';
    expect(user.split(/,(?!,)/).slice(0, 7)).toEqual([
      'user',
      'id=n0',
      'net=169.254.0.0/16',
      'host=169.254.0.2',
      'dns=169.254.0.3',
      'dhcpstart=169.254.0.15',
      'hostfwd=tcp:127.10.3.4:22-:22',
    ]);
    // commas inside the command are doubled, or QEMU would read what follows as the next option
    expect(user).toContain(
      "guestfwd=tcp:169.254.169.254:80-cmd:'/usr/bin/perl' '/tmp/a,,b/relay.pl' '/tmp/a,,b/md.sock'",
    );
    expect(user).not.toContain('127.0.0.1');
    // the rest is the qemu platform's: the hub NIC, the console, the kernel command line
    expect(netdevs[1]).toContain('addr.path=/tmp/e/net1.sock');
    expect(argv[argv.indexOf('-append') + 1]).toBe('console=ttyS0 ignition.platform.id=aws');
    expect(argv).toContain('name=opt/org.mantle-ts/private-network,file=/tmp/e/vm1/private-network');
  });

  it('asks QEMU to pick the port when port 22 cannot be bound', () => {
    const argv = emulatedVmArgv({ ...spec, ssh: { host: '127.10.3.4', port: 0 } });
    expect(argv.find((a) => a.startsWith('user,'))).toContain('hostfwd=tcp:127.10.3.4:0-:22');
  });

  it("gives the image its user NIC's address, gateway and DNS, in the network slirp serves", () => {
    expect(userNetworkNote).toBe('169.254.0.15/16 169.254.0.2 169.254.0.3\n');
  });
});

describe('privateMac', () => {
  it('is derived from the private address: distinct addresses, distinct MACs', () => {
    expect(privateMac('172.31.7.9')).toBe('52:54:00:1f:07:09');
    expect(privateMac('10.0.1.20')).not.toBe(privateMac('10.0.1.21'));
  });
  it('refuses what is not an IPv4 address', () => {
    expect(() => privateMac('172.31.7')).toThrow(/not an IPv4 address/);
    expect(() => privateMac('172.31.7.300')).toThrow(/not an IPv4 address/);
  });
});
