import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';

// What the real-VM tests of the emulated clouds share: the config they hand the guest, and how they
// tell from the console that the guest's real Ignition ran with the provider's platform.

/** An Ignition config that authorizes `publicKey` for core and writes /etc/kola/emulated.txt. */
export function provisioningConfig(publicKey: string, fileText: string) {
  return {
    ignition: { version: '3.3.0' },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: [publicKey] }] },
    storage: {
      files: [
        {
          path: '/etc/kola/emulated.txt',
          mode: 0o644,
          contents: { source: `data:,${encodeURIComponent(fileText)}` },
        },
      ],
    },
  };
}

/** The console shows the image's Ignition run with Ignition's `platformId`, and finish. */
export function expectIgnitionRan(console: string, platformId: string): void {
  expect(console).toContain(`ignition.platform.id=${platformId}`);
  expect(console).toContain(`running Ignition -platform ${platformId}`);
  expect(console).toContain('kola-init: Ignition finished');
  expect(console).not.toContain('Ignition failed');
}

/** QEMU processes the emulator process `pid` started (their -name is kola-emu-<pid>-…): pid → argv. */
export function qemusStartedBy(pid: number): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const name = argv[argv.indexOf('-name') + 1] ?? '';
      if (argv.includes('-name') && name.startsWith(`kola-emu-${pid}-`)) found.set(Number(entry), argv);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
