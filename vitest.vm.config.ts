import { defineConfig } from 'vitest/config';
import { vmTests } from './vitest.config.js';

/**
 * The tests that boot real VMs under QEMU: one file at a time, since every VM boot competes for the
 * same cores (TCG on CI), and with limits sized for TCG boots.
 */
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: vmTests,
    testTimeout: 30 * 60_000,
    hookTimeout: 15 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['./vitest.global-setup.ts'],
  },
});
