import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collect,
  fixtureTestsDir,
  kola,
  ledgerAlive,
  readJson,
  startKola,
  tempDir,
  waitUntil,
} from './helpers.js';

// End-to-end on real VMs: the qemu platform booting the project's test image under whatever
// accelerator the host has (TCG here). scripts/setup-qemu.sh installs QEMU; CI runs it first.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;
// CI installs QEMU first (.ci/run): there a missing QEMU fails the run instead of skipping it
if (qemuMissing && process.env.CI)
  describe('kola on qemu', () => {
    it('needs qemu-system-x86_64, which CI installs with scripts/setup-qemu.sh', () => {
      throw new Error('qemu-system-x86_64 is not installed under CI: scripts/setup-qemu.sh did not run');
    });
  });
else if (qemuMissing)
  console.warn(
    'skipping qemu end-to-end tests: qemu-system-x86_64 is not installed (run scripts/setup-qemu.sh)',
  );

const env = { ...process.env };
delete env.KOLA_TEST_PLATFORMS;
delete env.KOLA_TEST_MODULES;

interface Report {
  tests: Array<{
    name: string;
    result: string;
    output: string;
    reason?: string;
    failure?: { kind: string; message: string };
    machines?: Array<{ id: string; dir: string; console?: string; journal?: string }>;
  }>;
  result: string;
}

/** Every qemu process the run's ledger recorded is gone. */
function noQemuLeft(runDir: string): void {
  const lines = readFileSync(join(runDir, 'ledger.jsonl'), 'utf8').trim().split('\n');
  const pids = lines
    .map((l) => JSON.parse(l) as { event: string; data?: { pid?: number; name?: string } })
    .filter((l) => l.event === 'create' && l.data?.pid)
    .map((l) => l.data!);
  for (const p of pids) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
    } catch {
      cmdline = '';
    }
    expect(cmdline.includes(`-name\0${p.name}\0`), `qemu ${p.name} (pid ${p.pid}) still runs`).toBe(false);
  }
  expect(ledgerAlive(runDir)).toEqual([]);
}

const minutes = (n: number) => n * 60_000;

describe.skipIf(qemuMissing)('kola on qemu', () => {
  it(
    'runs the default suite: every test passes, reports, properties, logs, -latest, nothing left',
    async () => {
      const cwd = tempDir('kola-qemu-');
      const r = await kola(['run', '-v'], { env, cwd, timeoutMs: minutes(30) });
      const link = join(cwd, '_kola_temp', 'qemu-latest');
      const out = join(cwd, '_kola_temp', readlinkSync(link));
      const rep = readJson<Report>(join(out, 'reports/report.json'));
      const summary = rep.tests
        .map((t) => `${t.name}: ${t.result} ${t.failure?.message ?? t.reason ?? ''}`)
        .join('\n');
      expect(r.code, `${summary}\n${r.stderr.slice(-3000)}`).toBe(0);
      for (const name of [
        'basic',
        'userdata.ignition.ssh-keys',
        'userdata.ignition.files',
        'userdata.ignition.units',
        'userdata.ignition.hostname',
        'userdata.cloud-config',
        'userdata.script',
        'cluster.network',
        'reboot',
      ]) {
        expect(rep.tests.find((t) => t.name === name)?.result, name).toBe('PASS');
      }
      const props = readJson<{ platform: string; qemu: Record<string, string> }>(
        join(out, 'properties.json'),
      );
      expect(props.platform).toBe('qemu');
      expect(props.qemu.accel).toMatch(/^(kvm|tcg)$/);
      expect(props.qemu.kernelVersion).toMatch(/cloud-amd64/);
      expect(props.qemu.image).toMatch(/rootfs/);
      expect(props.qemu.flavor).toBe('systemd');
      // every machine left its console, journal and userdata behind
      for (const t of rep.tests.filter((x) => !x.name.includes('/'))) {
        for (const m of t.machines ?? []) {
          const dir = join(out, m.dir);
          expect(statSync(join(dir, 'console.txt')).size, `${t.name} console`).toBeGreaterThan(1000);
          expect(statSync(join(dir, 'journal.txt')).size, `${t.name} journal`).toBeGreaterThan(1000);
          expect(existsSync(join(dir, 'journal-raw.txt.gz')), `${t.name} journal-raw`).toBe(true);
          expect(existsSync(join(dir, 'user-data'))).toBe(true);
        }
      }
      const reboot = rep.tests.find((t) => t.name === 'reboot')!;
      const rebootConsole = readFileSync(join(out, reboot.machines![0]!.dir, 'console.txt'), 'utf8');
      expect(rebootConsole).toMatch(/reboot/i);
      expect(r.stderr).toMatch(/qemu: (KVM|TCG)/);
      noQemuLeft(out);
    },
    minutes(30),
  );

  it(
    'fails a test whose guest prints a kernel panic, and one that hangs past its timeout; nothing left',
    async () => {
      const out = join(tempDir('kola-qemu-'), 'out');
      const r = await kola(
        ['run', '-E', join(fixtureTestsDir, 'qemu-ext'), 'ext.*', '--output-dir', out, '-j', '2'],
        {
          env,
          timeoutMs: minutes(15),
        },
      );
      expect(r.code, r.stderr.slice(-2000)).toBe(1);
      const rep = readJson<Report>(join(out, 'reports/report.json'));
      const panic = rep.tests.find((t) => t.name === 'ext.qemu-ext.panics')!;
      expect(panic.result).toBe('FAIL');
      expect(panic.failure?.kind).toBe('console');
      expect(panic.failure?.message).toContain('Kernel panic - not syncing: kola negative console check');
      const hang = rep.tests.find((t) => t.name === 'ext.qemu-ext.hangs')!;
      expect(hang.failure).toMatchObject({ kind: 'timeout' });
      expect(hang.failure?.message).toMatch(/timed out after 20s/);
      noQemuLeft(out);
    },
    minutes(15),
  );

  it(
    'SIGINT while machines boot destroys them and exits 130',
    async () => {
      const out = join(tempDir('kola-qemu-'), 'out');
      const child = startKola(['run', 'basic', '--output-dir', out], { env });
      const done = collect(child, minutes(5));
      await waitUntil(
        () =>
          existsSync(join(out, 'ledger.jsonl')) &&
          readFileSync(join(out, 'ledger.jsonl'), 'utf8').includes('"create"'),
        'a VM',
        minutes(3),
      );
      child.kill('SIGINT');
      const r = await done;
      expect(r.code).toBe(130);
      noQemuLeft(out);
    },
    minutes(6),
  );

  it(
    'kola spawn --detach leaves a reachable VM for kola cleanup; the minimal flavor boots fast',
    async () => {
      const out = join(tempDir('kola-qemu-'), 'out');
      const r = await kola(['spawn', '--detach', '--qemu-flavor', 'minimal', '--output-dir', out], {
        env,
        timeoutMs: minutes(10),
      });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const line = r.stdout.split('\n').find((l) => l.includes(': ssh '))!;
      expect(line).toMatch(/^qemu-[0-9a-f]+ 127\.0\.0\.1: ssh -i \S+ -p \d+ /);
      // the VM outlived kola and answers SSH with the run's key
      const ssh = line.slice(line.indexOf('ssh '));
      const probe = spawnSync(
        'sh',
        ['-c', `${ssh} -o BatchMode=yes -o ConnectTimeout=20 cat /etc/os-release`],
        { encoding: 'utf8' },
      );
      expect(probe.stdout, probe.stderr).toMatch(/VARIANT_ID=kola/);
      expect(ledgerAlive(out)).toHaveLength(1);
      const c = await kola(['cleanup', '--run', out], { env });
      expect(c.code, c.stderr).toBe(0);
      noQemuLeft(out);
      expect(readdirSync(out)).toContain('spawn');
    },
    minutes(10),
  );

  it(
    'passes basic on the minimal flavor, skipping what needs systemd',
    async () => {
      const out = join(tempDir('kola-qemu-'), 'out');
      const r = await kola(['run', 'basic', 'reboot', '--qemu-flavor', 'minimal', '--output-dir', out], {
        env,
        timeoutMs: minutes(10),
      });
      const rep = readJson<Report>(join(out, 'reports/report.json'));
      expect(r.code, JSON.stringify(rep.tests.map((t) => [t.name, t.result, t.failure?.message]))).toBe(0);
      expect(rep.tests.find((t) => t.name === 'basic')?.result).toBe('PASS');
      expect(rep.tests.find((t) => t.name === 'basic/ssh')?.result).toBe('PASS');
      expect(rep.tests.find((t) => t.name === 'basic/failed-units')?.result).toBe('SKIP');
      expect(rep.tests.find((t) => t.name === 'reboot')).toMatchObject({
        result: 'SKIP',
        reason: expect.stringContaining('minimal'),
      });
      // destroy's ACPI power-off worked (the guest powered itself off; no kill after the grace)
      const machines = readdirSync(join(out, 'basic')).filter((d) => d.startsWith('qemu-'));
      expect(machines).toHaveLength(2);
      for (const m of machines) {
        const text = readFileSync(join(out, 'basic', m, 'console.txt'), 'utf8');
        expect(text).toContain('kola-init: power button: powering off');
        expect(text).toMatch(/reboot: Power down/);
      }
      noQemuLeft(out);
    },
    minutes(10),
  );
});
