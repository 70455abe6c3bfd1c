import type { PlatformEntry } from '@mantle/cluster';

/**
 * Every user-facing platform, listed once. Entries load lazily, so naming a platform (in help, in
 * `kola list`) never loads it or its SDK. A new platform is one package plus one entry here;
 * `node scripts/check-platforms.mjs` (run by the build) names any dependency or project reference
 * the new entry still needs.
 */
export const kolaPlatforms = [
  {
    name: 'qemu',
    description: 'local virtual machines under QEMU',
    load: async () => (await import('@mantle/platform-api-qemu')).platform,
  },
  {
    name: 'aws',
    description: 'Amazon EC2',
    load: async () => (await import('@mantle/platform-api-aws')).platform,
  },
  {
    name: 'do',
    description: 'DigitalOcean droplets',
    load: async () => (await import('@mantle/platform-api-do')).platform,
  },
  {
    name: 'esx',
    description: 'VMware vSphere (vCenter) VMs',
    load: async () => (await import('@mantle/platform-api-esx')).platform,
  },
  {
    name: 'gce',
    // mantle's ore group for it is `ore gcloud`
    oreName: 'gcloud',
    description: 'Google Compute Engine',
    load: async () => (await import('@mantle/platform-api-gce')).platform,
  },
  {
    name: 'packet',
    description: 'Equinix Metal (Packet) devices',
    load: async () => (await import('@mantle/platform-api-packet')).platform,
  },
  {
    name: 'azure',
    description: 'Microsoft Azure',
    load: async () => (await import('@mantle/platform-api-azure')).platform,
  },
] as const satisfies readonly PlatformEntry[];

/** The names of the registered platforms, typed: `'qemu' | 'aws' | …`. */
export type KolaPlatformName = (typeof kolaPlatforms)[number]['name'];
