import { optionValue, type QemuLaunchSpec, qemuArgv } from '@mantle/platform-api-qemu';

/**
 * The user network of an emulated VM. slirp forwards only to addresses inside its own network, so
 * that network is the link-local 169.254.0.0/16, which holds the metadata address 169.254.169.254
 * (QEMU's default 10.0.2.0/24 cannot: a `guestfwd` outside it is refused).
 */
export const userNetwork = {
  net: '169.254.0.0/16',
  gateway: '169.254.0.2',
  dns: '169.254.0.3',
  /** The guest's address (slirp's first DHCP address, where `hostfwd` without a guest address goes). */
  guest: '169.254.0.15',
  prefixLength: 16,
} as const;

/** The image's fw_cfg note for its user-mode NIC (`kola_user_network` in the image's agent.sh). */
export const userNetworkNote = `${userNetwork.guest}/${userNetwork.prefixLength} ${userNetwork.gateway} ${userNetwork.dns}\n`;

/** What an emulated cloud's VM has beyond a qemu-platform one: its own SSH address and metadata service. */
export interface EmulatedVmSpec extends QemuLaunchSpec {
  /** The host address SSH is forwarded from (the API's address for the instance); port 0: QEMU picks. */
  ssh: { host: string; port: number };
  /** The `guestfwd=` value that serves the provider's metadata address (see metadata-service.ts). */
  guestForward: string;
}

/**
 * QEMU's argv for one emulated VM: the qemu platform's (`qemuArgv`), with its user network replaced by
 * one that forwards SSH from the instance's own address and serves the metadata address in-process.
 */
export function emulatedVmArgv(spec: EmulatedVmSpec): string[] {
  const argv = qemuArgv(spec);
  const i = argv.findIndex((arg, n) => argv[n - 1] === '-netdev' && arg.startsWith('user,id=n0,'));
  if (i < 0)
    throw new Error('qemuArgv has no `-netdev user,id=n0,…` to replace: emulatedVmArgv needs updating');
  argv[i] = [
    'user',
    'id=n0',
    `net=${userNetwork.net}`,
    `host=${userNetwork.gateway}`,
    `dns=${userNetwork.dns}`,
    `dhcpstart=${userNetwork.guest}`,
    `hostfwd=tcp:${spec.ssh.host}:${spec.ssh.port}-:22`,
    `guestfwd=${optionValue(spec.guestForward)}`,
  ].join(',');
  return argv;
}
