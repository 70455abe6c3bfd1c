import { describe, expect, it } from 'vitest';
import {
  checkConsole,
  cleanConsoleLine,
  consoleChecks,
  formatFinding,
  NO_EMERGENCY_SHELL_CHECK,
} from './console-check.js';

const ids = (text: string, skip?: string[]) => checkConsole(text, skip ? { skip } : {}).map((f) => f.check);

describe('console checks: real trouble is found', () => {
  const positives: Array<[string, string]> = [
    ['emergency-shell', 'Press Enter for emergency shell or wait 5 minutes for reboot.'],
    ['emergency-shell', '[  OK  ] Starting Emergency Shell...'],
    ['emergency-shell', '         Starting emergency.service - Emergency Shell...'],
    ['emergency-shell', 'You are in emergency mode. After logging in, type "journalctl -xb" to view'],
    ['emergency-shell', 'Entering emergency mode. Exit the shell to continue.'],
    [
      'kernel-panic',
      '[    2.517091] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    ],
    ['kernel-oops', '[  125.071374] Oops: 0002 [#1] SMP PTI'],
    ['kernel-oops', '[   88.0] Internal error: Oops: 96000004 [#1] SMP'],
    [
      'kernel-warning',
      '[   12.345678] WARNING: CPU: 1 PID: 562 at fs/xfs/xfs_message.c:112 assfail+0x1c/0x20 [xfs]',
    ],
    ['offline-device', '[ 4230.501441] sd 2:0:0:0: rejecting I/O to offline device'],
    ['static-network-agent', '[FAILED] Failed to start CoreOS Static Network Agent.'],
    [
      'static-network-agent',
      '[FAILED] Failed to start coreos-static-network.service - CoreOS Static Network Agent.',
    ],
    [
      'ext4-delalloc',
      '[  695.803244] EXT4-fs (nvme0n1p1): Delayed block allocation failed for inode 13 at logical offset 0 with max blocks 8 with error 5',
    ],
    ['grub-memory-corruption', 'error: alloc magic is broken at 0x7bd8c4e0: 0'],
    ['grub-memory-corruption', 'free magic broken at 0x7f0a3c20: 0x0'],
    ['ignition-fetch-canceled', 'ignition[612]: failed to fetch config: context canceled'],
    [
      'initrd-cleanup-killed',
      'systemd[1]: initrd-cleanup.service: Main process exited, code=killed, status=15/TERM',
    ],
    ['bad-page-table', '[  101.2] mm/pgtable-generic.c:33: bad pmd 00000000a1b2c3d4(8000000012345067)'],
    ['bad-page-table', 'mm/pgtable-generic.c:21: bad pte ffff8800'],
    ['go-panic', 'panic: runtime error: invalid memory address or nil pointer dereference'],
    ['go-panic', 'May 18 12:00:01 localhost etcd[1234]: panic: assignment to entry in nil map'],
    ['go-panic', '[   31.337] panic: boom'],
    [
      'segfault',
      '[   40.1] containerd[812]: segfault at 0 ip 000055d5 sp 00007ffd error 4 in containerd[55d5+1000]',
    ],
    ['segfault', 'systemd[1]: docker.service: Main process exited, code=dumped, status=11/SEGV'],
    ['segfault', 'SIGSEGV: segmentation violation'],
    ['core-dump', 'bash: line 1:  1234 Segmentation fault      (core dumped) ./crash'],
    ['core-dump', 'Core dump to |/usr/lib/systemd/systemd-coredump pipe failed'],
  ];
  it.each(positives)('%s: %s', (id, line) => {
    const text = `boot line before\n${line}\nboot line after\n`;
    const findings = checkConsole(text);
    const hit = findings.find((f) => f.check === id);
    expect(hit, `expected ${id} in ${JSON.stringify(findings)}`).toBeDefined();
    expect(hit!.line).toBe(line.trim());
    expect(hit!.lineNumber).toBe(2);
  });

  it('finds lines wrapped in ANSI colour codes and CRLF line ends', () => {
    const text = 'a\r\n         Starting \x1b[0;1;39memergency.service\x1b[0m - Emergency Shell...\r\nb\r\n';
    const [f] = checkConsole(text);
    expect(f).toMatchObject({ check: 'emergency-shell', lineNumber: 2 });
    expect(f!.line).toBe('Starting emergency.service - Emergency Shell...');
  });

  it('bonding link flaps fire only at the tenth message, once', () => {
    const flap = (i: number) => `[ ${i}.0] bond0: link status up for interface eth0, enabling it in 200 ms`;
    const nine = Array.from({ length: 9 }, (_, i) => flap(i)).join('\n');
    expect(ids(nine)).toEqual([]);
    const twelve = Array.from({ length: 12 }, (_, i) => flap(i)).join('\n');
    const findings = checkConsole(twelve);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: 'bonding-link-flap', lineNumber: 10 });
    expect(findings[0]!.description).toContain('10 or more');
  });

  it('reports every offending line, in line order, and several checks on one log', () => {
    const text = [
      '[    0.0] Linux version 5.6',
      '[    1.0] sd 2:0:0:0: rejecting I/O to offline device',
      '[    1.1] sd 2:0:0:0: rejecting I/O to offline device',
      '[    2.5] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009',
    ].join('\n');
    const findings = checkConsole(text);
    expect(findings.map((f) => [f.check, f.lineNumber])).toEqual([
      ['kernel-panic', 4],
      ['offline-device', 2],
      ['offline-device', 3],
    ]);
    expect(checkConsole(text, { maxPerCheck: 1 }).filter((f) => f.check === 'offline-device')).toHaveLength(
      1,
    );
  });
});

describe('console checks: benign lines do not match', () => {
  const negatives = [
    // "Kernel panic" in prose / unit descriptions, not the kernel's panic message
    'systemd[1]: Starting kdump.service - Crash recovery kernel arming for Kernel panic analysis...',
    '[    0.000000] Kernel command line: BOOT_IMAGE=/vmlinuz panic=10 oops=panic console=ttyS0',
    'Description=Reboot on Kernel panic',
    // systemd's coredump plumbing is named "Core Dump" (capital D) or "coredump"
    'systemd[1]: Listening on systemd-coredump.socket - Process Core Dump Socket.',
    '[  OK  ] Listening on Process Core Dump Socket.',
    'systemd-coredump.socket: Succeeded.',
    // emergency mode mentioned but not entered
    '[  OK  ] Stopped emergency.service - Emergency Shell.',
    'systemd[1]: Reached target emergency.target - Emergency Mode.',
    // "panic:" not at a line/prefix start
    'systemd[1]: Started reboot on panic: watchdog armed',
    'etcd[99]: dont panic: everything is fine',
    // kernel warnings that are not WARN() backtraces
    '[    0.1] WARNING: CPU features not supported by this kernel',
    'ignition[612]: GET https://example/config: attempt #1 context deadline exceeded',
    '[    1.1] bonding: bond0: link status definitely up for interface eth0, 1000 Mbps full duplex',
    'Whoops: a user message',
    'mm: pgtable ok',
  ];
  it.each(negatives)('%s', (line) => {
    expect(checkConsole(`${line}\n`)).toEqual([]);
  });

  it('"core dump handling: systemd-coredump enabled" DOES match: lowercase "core dump" counts (see module doc)', () => {
    expect(ids('core dump handling: systemd-coredump enabled\n')).toEqual(['core-dump']);
  });
});

describe('console checks: options and formatting', () => {
  it('the emergency shell check is skipped by its flag, and any check by its id', () => {
    const text = 'Press Enter for emergency shell\nKernel panic - not syncing: x\n';
    expect(ids(text)).toEqual(['emergency-shell', 'kernel-panic']);
    expect(ids(text, [NO_EMERGENCY_SHELL_CHECK])).toEqual(['kernel-panic']);
    expect(ids(text, ['kernel-panic'])).toEqual(['emergency-shell']);
  });

  it('long lines are cut to 500 characters and keep the match in view', () => {
    const long = `${'x'.repeat(2000)} Kernel panic - not syncing: boom ${'y'.repeat(2000)}`;
    const [f] = checkConsole(long);
    expect(f!.line.length).toBeLessThanOrEqual(500);
    expect(f!.line).toContain('Kernel panic - not syncing');
    const early = `Kernel panic - not syncing: ${'z'.repeat(1000)}`;
    const [g] = checkConsole(early);
    expect(g!.line.length).toBe(500);
    expect(g!.line.startsWith('Kernel panic')).toBe(true);
  });

  it('strips control characters and escape sequences from reported lines', () => {
    expect(cleanConsoleLine('\x1b[31mOops:\x1b[0m\x07 bad\x00')).toBe('Oops: bad');
  });

  it('check table is well-formed: unique ids, no stateful regex flags', () => {
    const seen = new Set<string>();
    for (const c of consoleChecks) {
      expect(seen.has(c.id)).toBe(false);
      seen.add(c.id);
      expect(c.pattern.global || c.pattern.sticky).toBe(false);
    }
    expect(seen.size).toBeGreaterThanOrEqual(15);
  });

  it('formatFinding names the machine, the source and the line', () => {
    const [f] = checkConsole('a\nOops: 0000 [#1] SMP\n');
    expect(formatFinding(f!, 'i-0abc', 'journal')).toBe(
      'Found kernel oops on machine i-0abc journal (line 2): Oops: 0000 [#1] SMP',
    );
  });

  it('empty input yields nothing', () => {
    expect(checkConsole('')).toEqual([]);
  });
});
