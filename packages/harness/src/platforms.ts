import { type Platform, type PlatformEntry, UsageError } from '@mantle/cluster';

/**
 * Every user-facing platform, listed once. Entries load lazily, so naming a platform (in help, in
 * `kola list`) never loads its SDK. A new platform is one package plus one line here.
 */
export const kolaPlatforms: readonly PlatformEntry[] = [
  {
    name: 'qemu',
    description: 'local virtual machines under QEMU',
    load: async () => (await import('@mantle/platform-api-qemu')).platform as unknown as Platform,
  },
  {
    name: 'aws',
    description: 'Amazon EC2',
    load: async () => (await import('@mantle/platform-api-aws')).platform as unknown as Platform,
  },
];

/**
 * Test-only platforms (`name=/abs/module.js,…`): how the repo's own tests reach the fake platform
 * through real kola processes without exposing it to users.
 */
export const testPlatformsVariable = 'KOLA_INTERNAL_TEST_PLATFORMS';

export function platformEntries(env: NodeJS.ProcessEnv = process.env): PlatformEntry[] {
  const extra = (env[testPlatformsVariable] ?? '')
    .split(',')
    .filter(Boolean)
    .map((spec): PlatformEntry => {
      const [name = '', path = ''] = spec.split('=');
      return {
        name,
        description: `test platform from ${path}`,
        load: async () => ((await import(path)) as { platform: Platform }).platform,
      };
    });
  return [...kolaPlatforms, ...extra];
}

export async function loadPlatform(name: string, env: NodeJS.ProcessEnv = process.env): Promise<Platform> {
  const entries = platformEntries(env);
  const entry = entries.find((e) => e.name === name);
  if (!entry) {
    const known = entries.map((e) => e.name);
    throw new UsageError(`unknown platform "${name}" (available: ${known.join(', ')})`);
  }
  return entry.load();
}
