import { spawnSync } from 'node:child_process';
import { describePlatformContract } from '@mantle/cluster/testing';
import { describe, it } from 'vitest';
import { platform } from '../src/index.js';

// The shared platform contract on real VMs (the systemd test image, built on first use). Needs QEMU:
// scripts/setup-qemu.sh installs it, and CI runs that first.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;

if (qemuMissing) {
  describe('platform contract: qemu', () => {
    it.skip('skipped: qemu-system-x86_64 is not installed (run scripts/setup-qemu.sh)', () => {});
  });
  console.warn('skipping the qemu platform contract: qemu-system-x86_64 is not installed');
} else {
  describePlatformContract(
    'qemu',
    async () => ({
      platform: platform as never,
      options: { flavor: 'systemd' },
      // TCG boots take ~30 s per VM, more when several share the cores
      context: { sshTimeoutMs: 6 * 60_000 },
    }),
    { timeoutMs: 10 * 60_000 },
  );
}
