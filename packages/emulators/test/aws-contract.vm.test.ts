import { spawnSync } from 'node:child_process';
import { describePlatformContract } from '@mantle/cluster/testing';
import { describe, it } from 'vitest';
import { awsContractSetup } from './support/aws-contract.js';

// The shared platform contract for aws on the emulator's `qemu` machines: every instance is a real
// VM from kola's systemd test image (the contract reboots through `sudo systemctl reboot`, which the
// minimal one lacks), its userdata read by the guest's Ignition from IMDS.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;
if (qemuMissing) console.warn('skipping: qemu-system-x86_64 is not installed (scripts/setup-qemu.sh)');

if (!qemuMissing || process.env.CI)
  describePlatformContract(
    'aws on the emulator (qemu machines)',
    awsContractSetup('qemu', { flavor: 'systemd', sshTimeoutMs: 5 * 60_000 }),
    { timeoutMs: 10 * 60_000 },
  );
else
  describe('platform contract: aws on the emulator (qemu machines)', () => {
    it.skip('skipped: qemu-system-x86_64 is not installed (run scripts/setup-qemu.sh)', () => {});
  });
