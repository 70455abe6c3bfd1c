/**
 * mantle's console and journal checks (CL:kola/harness.go `consoleChecks`): after a test, each
 * machine's console and journal are scanned for signs of trouble the test itself may not notice. Any
 * finding fails the test. Unlike mantle, which reported only "Found kernel panic", every offending
 * line is returned with its line number.
 *
 * The regexes are mantle's, with these deliberate changes:
 * - emergency shell and the Static Network Agent also match systemd ≥ 252's
 *   `Starting emergency.service - Emergency Shell...` wording, and dracut's `Entering emergency mode`.
 * - Go panic needs `panic: ` at the start of a line or right after a console timestamp (`[ 1.2] `) or
 *   a journal prefix (`prog[123]: `), so prose such as "reboot on panic: yes" does not match.
 * - segfault also matches the kernel's `prog[123]: segfault at 0 ip ...` line.
 * - bad page table matches pmd/pud/p4d/pgd/pte (flatcar's `bad (p.d|pte)`).
 * - `core dump` stays case-sensitive on "dump", as in mantle: systemd's benign unit descriptions say
 *   "Process Core Dump" (`systemd-coredump.socket`) and do not match, while any lowercase "core dump"
 *   mention ("Segmentation fault (core dumped)", "Core dump to |... pipe failed", "Resource limits
 *   disable core dumping") does. A made-up line such as "core dump handling: systemd-coredump enabled"
 *   would therefore match too; no such line is printed by the images we test, and narrowing the regex
 *   would lose real crashes. Tests that crash processes on purpose can skip the check by id.
 *
 * Lines are matched after removing ANSI escape sequences (systemd colours unit names) and other control
 * characters, so `Starting \e[0;1;39memergency.service\e[0m` still matches.
 */

export interface ConsoleCheck {
  /** Stable id; also accepted in `skip` to turn off just this check. */
  id: string;
  description: string;
  /** Tested against each line on its own. Must not use the g or y flags. */
  pattern: RegExp;
  /** A test flag that turns this check off, e.g. `no-emergency-shell-check`. */
  skipFlag?: string;
  /** Fire only once this many lines match (reported at the line that reaches the count). */
  minCount?: number;
}

export const NO_EMERGENCY_SHELL_CHECK = 'no-emergency-shell-check';

export const consoleChecks: readonly ConsoleCheck[] = [
  {
    id: 'emergency-shell',
    description: 'emergency shell',
    pattern:
      /Press Enter for emergency shell|Starting (?:emergency\.service - )?Emergency Shell|You are in emergency mode|Entering emergency mode/,
    skipFlag: NO_EMERGENCY_SHELL_CHECK,
  },
  { id: 'kernel-panic', description: 'kernel panic', pattern: /Kernel panic - not syncing/ },
  { id: 'kernel-oops', description: 'kernel oops', pattern: /\bOops:/ },
  { id: 'kernel-warning', description: 'kernel warning', pattern: /WARNING: CPU: \d+ PID: \d+ at \S/ },
  {
    id: 'offline-device',
    description: 'failure of disk under I/O',
    pattern: /rejecting I\/O to offline device/,
  },
  {
    id: 'static-network-agent',
    description: 'coreos-metadata failure to set up initramfs network',
    pattern: /Failed to start (?:\S+\.service - )?CoreOS Static Network Agent/,
  },
  {
    // https://github.com/coreos/bugs/issues/2065 (mantle: the message ten times anywhere in the log)
    id: 'bonding-link-flap',
    description: 'excessive bonding link status messages',
    pattern: /link status up for interface [^,]+, enabling it in \d+ ms/,
    minCount: 10,
  },
  {
    // https://github.com/coreos/bugs/issues/2180
    id: 'ext4-delalloc',
    description: 'ext4 delayed allocation failure',
    pattern: /EXT4-fs \([^)]*\): Delayed block allocation failed/,
  },
  {
    // https://github.com/coreos/bugs/issues/2284
    id: 'grub-memory-corruption',
    description: 'GRUB memory corruption',
    pattern: /\b(?:alloc|free) magic (?:is )?broken/,
  },
  {
    // https://github.com/coreos/bugs/issues/2435
    id: 'ignition-fetch-canceled',
    description: 'Ignition fetch cancellation race',
    pattern: /ignition\[\d+\]: failed to fetch config: context canceled/,
  },
  {
    // https://github.com/coreos/bugs/issues/2526
    id: 'initrd-cleanup-killed',
    description: 'initrd-cleanup.service terminated',
    pattern: /initrd-cleanup\.service: Main process exited, code=killed, status=15\/TERM/,
  },
  {
    id: 'bad-page-table',
    description: 'bad page table',
    pattern: /mm\/pgtable-generic\.c:\d+: bad (?:p.d|pte)/,
  },
  { id: 'go-panic', description: 'Go panic', pattern: /(?:^|\] |\]: )panic: \S/ },
  { id: 'segfault', description: 'segfault', pattern: /SIGSEGV|=11\/SEGV|\bsegfault at / },
  { id: 'core-dump', description: 'core dump', pattern: /[Cc]ore dump/ },
];

export interface ConsoleFinding {
  /** The check's id. */
  check: string;
  description: string;
  /** The offending line: escape sequences removed, trimmed, at most 500 characters. */
  line: string;
  /** 1-based. */
  lineNumber: number;
}

export interface CheckConsoleOptions {
  /** Test flags (`no-emergency-shell-check`) and/or check ids to turn off. */
  skip?: readonly string[];
  /** Report at most this many lines per check (default: all). */
  maxPerCheck?: number;
}

const MAX_LINE = 500;

// CSI sequences, OSC sequences (BEL or ST terminated), and two-character ESC sequences.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
// Control characters other than tab.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** A console line as it reads on a terminal: escape sequences and control characters removed. */
export function cleanConsoleLine(line: string): string {
  return line.replace(ANSI, '').replace(CONTROL, '');
}

/** Every line of `text` that a (non-skipped) check matches, in check order, then line order. */
export function checkConsole(text: string, options: CheckConsoleOptions = {}): ConsoleFinding[] {
  const skip = new Set(options.skip ?? []);
  const active = consoleChecks.filter((c) => !skip.has(c.id) && !(c.skipFlag && skip.has(c.skipFlag)));
  if (active.length === 0 || text.length === 0) return [];
  const lines = text.split(/\r?\n/).map(cleanConsoleLine);
  const findings: ConsoleFinding[] = [];
  for (const check of active) {
    let count = 0;
    let reported = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const m = check.pattern.exec(line);
      if (!m) continue;
      count++;
      if (check.minCount !== undefined && count !== check.minCount) continue;
      findings.push({
        check: check.id,
        description: check.minCount ? `${check.description} (${check.minCount} or more)` : check.description,
        line: excerpt(line, m.index, m[0].length),
        lineNumber: i + 1,
      });
      reported++;
      if (check.minCount !== undefined) break;
      if (options.maxPerCheck !== undefined && reported >= options.maxPerCheck) break;
    }
  }
  return findings;
}

/** `Found kernel panic on machine m1 console (line 12): Kernel panic - not syncing: ...` */
export function formatFinding(
  finding: ConsoleFinding,
  machineId: string,
  source: 'console' | 'journal',
): string {
  return `Found ${finding.description} on machine ${machineId} ${source} (line ${finding.lineNumber}): ${finding.line}`;
}

/** The trimmed line, cut to MAX_LINE characters around the match when it is longer. */
function excerpt(line: string, matchIndex: number, matchLength: number): string {
  const leading = line.length - line.trimStart().length;
  const trimmed = line.trim();
  if (trimmed.length <= MAX_LINE) return trimmed;
  const at = Math.max(0, matchIndex - leading);
  // Keep the match in view: start shortly before it when it lies beyond the first window.
  let start = at + matchLength > MAX_LINE - 1 ? Math.max(0, at - 100) : 0;
  start = Math.min(start, trimmed.length - (MAX_LINE - 2));
  const head = start > 0 ? '…' : '';
  const room = MAX_LINE - head.length - 1;
  const body = trimmed.slice(start, start + room);
  const tail = start + room < trimmed.length ? '…' : '';
  return (head + body + tail).slice(0, MAX_LINE);
}
