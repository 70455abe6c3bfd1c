import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { type GceEmulator, startGceEmulator } from '../src/gce/emulator.js';
import { startNodeScript } from './support/node-script.js';
import { qemusStartedBy } from './support/vm-proof.js';

// The shipped `kola run -p do` and `-p gce` against the emulators' qemu machines: every machine a real
// VM from kola's minimal test image whose real Ignition runs with the provider's platform id and
// fetches its config from the emulated metadata service, as on DigitalOcean and Compute Engine.
// The emulators run in this process, so the test sees what is left in them after kola.
const here = dirname(fileURLToPath(import.meta.url));
const kolaBin = join(resolve(here, '../../..'), 'packages/kola/bin/kola.js');

const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;
if (qemuMissing && process.env.CI)
  describe('kola on the emulated do and gce', () => {
    it('needs qemu-system-x86_64, which CI installs with scripts/setup-qemu.sh', () => {
      throw new Error('qemu-system-x86_64 is not installed under CI: scripts/setup-qemu.sh did not run');
    });
  });
else if (qemuMissing)
  console.warn(
    'skipping the emulated do/gce VM test: qemu-system-x86_64 is not installed (scripts/setup-qemu.sh)',
  );

interface Report {
  tests: Array<{ name: string; result: string; machines?: Array<{ id: string }> }>;
}

const expectedResults = {
  basic: 'PASS',
  'basic/ssh': 'PASS',
  'basic/os-release': 'PASS',
  'basic/machine-id': 'PASS',
  'basic/failed-units': 'SKIP', // no systemd on the minimal image
  'userdata.cloud-config': 'PASS',
  'userdata.ignition.files': 'PASS',
  'userdata.ignition.hostname': 'PASS',
  'userdata.ignition.ssh-keys': 'PASS',
  'userdata.ignition.units': 'SKIP', // no systemd to start units
  'userdata.script': 'PASS',
};

interface Case {
  platform: 'do' | 'gce';
  /** Ignition's name of the platform. */
  ignitionPlatform: string;
  /** The metadata URL Ignition's provider reads the config from. */
  userDataUrl: string;
  /** The API serves the serial console (DigitalOcean's has none). */
  hasConsole: boolean;
  start(): Promise<DoEmulator | GceEmulator>;
  /** What the emulated cloud still holds that a kola run made. */
  leftovers(emulator: DoEmulator | GceEmulator): Promise<string[]>;
}

const cases: Case[] = [
  {
    platform: 'do',
    ignitionPlatform: 'digitalocean',
    userDataUrl: 'http://169.254.169.254/metadata/v1/user-data',
    hasConsole: false,
    start: () => startDoEmulator({ machines: 'qemu', log: () => {} }),
    async leftovers(e) {
      const emulator = e as DoEmulator;
      const keys = (await (
        await fetch(`${emulator.endpoint}/v2/account/keys?per_page=200`, {
          headers: { authorization: `Bearer ${emulator.token}` },
        })
      ).json()) as { ssh_keys: Array<{ name: string }> };
      return [
        ...emulator.droplets().map((id) => `droplet ${id}`),
        ...keys.ssh_keys.filter((k) => k.name.startsWith('kola-')).map((k) => `key ${k.name}`),
      ];
    },
  },
  {
    platform: 'gce',
    ignitionPlatform: 'gcp',
    userDataUrl: 'http://169.254.169.254/computeMetadata/v1/instance/attributes/user-data',
    hasConsole: true,
    start: () => startGceEmulator({ machines: 'qemu', log: () => {} }),
    async leftovers(e) {
      return (e as GceEmulator).instances().map((i) => `instance ${i}`);
    },
  },
];

function kolaEnv(emulator: DoEmulator | GceEmulator): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...emulator.env };
  delete env.KOLA_TEST_PLATFORMS;
  delete env.KOLA_TEST_MODULES;
  return env;
}

for (const c of cases) {
  describe.skipIf(qemuMissing)(`kola run -p ${c.platform} on the emulator's qemu machines`, () => {
    let emulator: DoEmulator | GceEmulator;
    beforeAll(async () => {
      emulator = await c.start();
    });
    afterAll(async () => {
      const violations = emulator?.violations() ?? [];
      await emulator?.stop();
      expect(violations, 'every request and answer matched the provider spec').toEqual([]);
    });

    it(`basic userdata.*: passes on real VMs whose Ignition (-platform ${c.ignitionPlatform}) fetched the config from the metadata service`, async () => {
      const cwd = mkdtempSync(join(tmpdir(), `kola-emu-${c.platform}-`));
      const r = await startNodeScript(kolaBin, ['run', ...emulator.kola, 'basic', 'userdata.*'], {
        env: kolaEnv(emulator),
        cwd,
      }).done;
      const out = join(cwd, '_kola_temp', readlinkSync(join(cwd, '_kola_temp', `${c.platform}-latest`)));
      const report = JSON.parse(readFileSync(join(out, 'reports/report.json'), 'utf8')) as Report;
      expect(r.code, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
      expect(Object.fromEntries(report.tests.map((t) => [t.name, t.result]))).toEqual(expectedResults);

      // the journal kola saved: the provider's own metadata fetch, then Ignition's stages
      const files = report.tests.find((t) => t.name === 'userdata.ignition.files')!;
      const journal = readFileSync(
        join(out, 'userdata.ignition.files', files.machines![0]!.id, 'journal.txt'),
        'utf8',
      );
      expect(journal).toContain(`ignition.platform.id=${c.ignitionPlatform}`);
      expect(journal).toContain(`ignition: INFO     : GET ${c.userDataUrl}: attempt #1`);
      expect(journal).toContain('ignition: INFO     : Ignition finished successfully');
      // a script is not an Ignition config: kola's agent ran it, Ignition did not
      const script = report.tests.find((t) => t.name === 'userdata.script')!.machines![0]!;
      const scriptDir = join(out, 'userdata.script', script.id);
      expect(readFileSync(join(scriptDir, 'journal.txt'), 'utf8')).not.toContain('ignition: INFO');
      if (c.hasConsole)
        expect(readFileSync(join(scriptDir, 'console.txt'), 'utf8')).toContain('Ignition does not run');
      expect(await c.leftovers(emulator)).toEqual([]);
      expect([...qemusStartedBy(process.pid).keys()], 'no VM is left once kola is done').toEqual([]);
    });

    it('SIGINT once machines are up: exit 130, and nothing is left in the cloud or on the host', async () => {
      const cwd = mkdtempSync(join(tmpdir(), `kola-emu-${c.platform}-int-`));
      const run = startNodeScript(kolaBin, ['run', ...emulator.kola, 'userdata.*'], {
        env: kolaEnv(emulator),
        cwd,
      });
      for (let i = 0; qemusStartedBy(process.pid).size === 0; i++) {
        if (i > 1200) throw new Error(`no VM started: ${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr.slice(-3000)).toBe(130);
      expect(await c.leftovers(emulator)).toEqual([]);
      // the emulator stops a deleted machine's VM as the cloud would, within a few seconds
      for (let i = 0; qemusStartedBy(process.pid).size > 0 && i < 200; i++)
        await new Promise((res) => setTimeout(res, 50));
      expect([...qemusStartedBy(process.pid).keys()]).toEqual([]);
      const out = join(
        cwd,
        '_kola_temp',
        readdirSync(join(cwd, '_kola_temp')).find((d) => !d.endsWith('-latest'))!,
      );
      // every resource the run made is in its ledger, and each was marked destroyed
      const events = readFileSync(join(out, 'ledger.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; key: string });
      const made = events.filter((e) => e.event === 'create').map((e) => e.key);
      expect(made.length).toBeGreaterThan(0);
      expect(
        events
          .filter((e) => e.event === 'destroy')
          .map((e) => e.key)
          .sort(),
      ).toEqual(made.sort());
    });
  });
}
