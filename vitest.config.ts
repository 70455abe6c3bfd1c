import { defineConfig } from 'vitest/config';

/** Files that boot real VMs; they run on their own, one at a time (vitest.vm.config.ts). */
export const vmTests = [
  'packages/kola/test/qemu.e2e.test.ts',
  'packages/platform-api-qemu/test/contract.test.ts',
  'packages/emulators/src/machines/qemu.vm.test.ts',
  'packages/emulators/test/aws-kola.vm.test.ts',
  'packages/emulators/test/aws-contract.vm.test.ts',
  'packages/emulators/src/gce/gce.vm.test.ts',
  'packages/emulators/src/do/do.vm.test.ts',
  'packages/emulators/test/kola-do-gce.vm.test.ts',
  'packages/emulators/test/do-snapshot.vm.test.ts',
];

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', ...vmTests],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['./vitest.global-setup.ts'],
  },
});
