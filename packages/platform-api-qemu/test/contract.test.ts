import { spawnSync } from 'node:child_process';
import { describePlatformContract } from '@mantle/cluster/testing';
import { describe, it } from 'vitest';
import { platform } from '../src/index.js';

// The shared platform contract on real VMs (the systemd test image, built on first use). Needs QEMU:
// scripts/setup-qemu.sh installs it, and CI runs that first.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;

if (qemuMissing && process.env.CI) {
  // CI installs QEMU first (.ci/run): a missing QEMU there is a broken setup, not a reason to skip
  describe('platform contract: qemu', () => {
    it('needs qemu-system-x86_64, which CI installs with scripts/setup-qemu.sh', () => {
      throw new Error('qemu-system-x86_64 is not installed under CI: scripts/setup-qemu.sh did not run');
    });
  });
} else if (qemuMissing) {
  describe('platform contract: qemu', () => {
    it.skip('skipped: qemu-system-x86_64 is not installed (run scripts/setup-qemu.sh)', () => {});
  });
  console.warn('skipping the qemu platform contract: qemu-system-x86_64 is not installed');
} else {
  describePlatformContract(
    'qemu',
    async () => ({
      platform,
      options: { flavor: 'systemd' },
      // TCG boots take ~30 s per VM, more when several share the cores
      context: { sshTimeoutMs: 6 * 60_000 },
    }),
    { timeoutMs: 10 * 60_000 },
  );
}
