// What the emulated DigitalOcean account offers before anyone creates anything: regions, sizes and the
// public distribution images, shaped as the v2 API lists them.

export interface DoRegion {
  slug: string;
  name: string;
}

/** Regions a droplet may be created in (every slug is one the spec's image `regions` enum allows). */
export const doRegions: readonly DoRegion[] = [
  { slug: 'nyc1', name: 'New York 1' },
  { slug: 'nyc3', name: 'New York 3' },
  { slug: 'sfo2', name: 'San Francisco 2' },
  { slug: 'sfo3', name: 'San Francisco 3' },
  { slug: 'ams3', name: 'Amsterdam 3' },
  { slug: 'fra1', name: 'Frankfurt 1' },
  { slug: 'lon1', name: 'London 1' },
  { slug: 'sgp1', name: 'Singapore 1' },
  { slug: 'tor1', name: 'Toronto 1' },
  { slug: 'blr1', name: 'Bangalore 1' },
  { slug: 'syd1', name: 'Sydney 1' },
];

const regionFeatures = ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'];

export interface DoSize {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  description: string;
}

export const doSizes: readonly DoSize[] = [
  basic('s-1vcpu-512mb-10gb', 512, 1, 10, 0.5, 4),
  basic('s-1vcpu-1gb', 1024, 1, 25, 1, 6),
  basic('s-1vcpu-2gb', 2048, 1, 50, 2, 12),
  basic('s-2vcpu-2gb', 2048, 2, 60, 3, 18),
  basic('s-2vcpu-4gb', 4096, 2, 80, 4, 24),
  basic('s-4vcpu-8gb', 8192, 4, 160, 5, 48),
];

function basic(slug: string, memory: number, vcpus: number, disk: number, transfer: number, monthly: number) {
  return {
    slug,
    memory,
    vcpus,
    disk,
    transfer,
    price_monthly: monthly,
    price_hourly: Math.round((monthly / 672) * 100000) / 100000,
    description: 'Basic',
  };
}

/**
 * mantle's `--do-size` default is `1gb`, a slug from before the `s-` sizes. The API still takes the
 * old slugs on create (our assumption: they are not listed) and reports the size they stand for.
 */
export const legacySizeSlugs: Readonly<Record<string, string>> = {
  '512mb': 's-1vcpu-512mb-10gb',
  '1gb': 's-1vcpu-1gb',
  '2gb': 's-1vcpu-2gb',
};

export function findSize(slug: string): DoSize | undefined {
  const canonical = legacySizeSlugs[slug] ?? slug;
  return doSizes.find((s) => s.slug === canonical);
}

export function regionJson(region: DoRegion) {
  return {
    name: region.name,
    slug: region.slug,
    features: regionFeatures,
    available: true,
    sizes: doSizes.map((s) => s.slug),
  };
}

export function sizeJson(size: DoSize) {
  return { ...size, regions: doRegions.map((r) => r.slug), available: true };
}

/** The public distribution images (type `base`), by slug. */
export const distributionImages = [
  { slug: 'ubuntu-24-04-x64', name: '24.04 (LTS) x64', distribution: 'Ubuntu', minDisk: 7, size: 2.36 },
  { slug: 'debian-12-x64', name: '12 x64', distribution: 'Debian', minDisk: 7, size: 0.96 },
  { slug: 'fedora-42-x64', name: '42 x64', distribution: 'Fedora', minDisk: 7, size: 1.12 },
] as const;
