import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeInstancesCommand,
  EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { generateSshIdentity } from '@mantle/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeScript } from './support/node-script.js';
import { tryLogin } from './support/ssh-login.js';
import { qemusStartedBy } from './support/vm-proof.js';

// The kit's proof on AWS, as a user runs it: `kola-emulator aws --machines qemu` in one process, the
// shipped `kola run -p aws` with the flags it printed in another, and every machine a real VM from
// kola's minimal test image whose real Ignition runs -platform aws against the emulator's IMDS.
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const emulatorBin = join(repoRoot, 'packages/emulators/bin/kola-emulator.js');
const kolaBin = join(repoRoot, 'packages/kola/bin/kola.js');

const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;
if (qemuMissing && process.env.CI)
  describe('kola on the emulated aws', () => {
    it('needs qemu-system-x86_64, which CI installs with scripts/setup-qemu.sh', () => {
      throw new Error('qemu-system-x86_64 is not installed under CI: scripts/setup-qemu.sh did not run');
    });
  });
else if (qemuMissing)
  console.warn(
    'skipping the emulated aws VM test: qemu-system-x86_64 is not installed (scripts/setup-qemu.sh)',
  );

interface Ready {
  env: Record<string, string>;
  kola: string[];
  ore: string[];
}

interface Report {
  result: string;
  tests: Array<{
    name: string;
    result: string;
    reason?: string;
    machines?: Array<{ id: string; dir: string }>;
  }>;
}

let emulator: ChildProcess | undefined;
let emulatorLog = '';
let ready: Ready;

/** Starts kola-emulator and resolves with the JSON line it prints once it is ready. */
function startEmulator(): Promise<Ready> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [emulatorBin, 'aws', '--machines', 'qemu'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    emulator = child;
    let out = '';
    child.stderr?.on('data', (d) => {
      emulatorLog += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolvePromise(JSON.parse(line) as Ready);
    });
    child.on('exit', (code) =>
      reject(new Error(`kola-emulator exited ${code} before it was ready:\n${emulatorLog}`)),
    );
  });
}

function stopEmulator(): Promise<number | null> {
  const child = emulator;
  if (!child || child.exitCode !== null) return Promise.resolve(child?.exitCode ?? null);
  return new Promise((resolvePromise) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolvePromise(code));
    child.kill('SIGTERM');
  });
}

describe.skipIf(qemuMissing)('kola on the emulated aws (qemu machines)', () => {
  beforeAll(async () => {
    ready = await startEmulator();
  });
  afterAll(async () => {
    await stopEmulator();
  });

  it('kola run -p aws basic userdata.*: passes on real VMs whose Ignition fetched the config from IMDS', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'kola-emu-aws-'));
    const env: NodeJS.ProcessEnv = { ...process.env, ...ready.env };
    delete env.KOLA_TEST_PLATFORMS;
    delete env.KOLA_TEST_MODULES;
    const r = await startNodeScript(kolaBin, ['run', ...ready.kola, 'basic', 'userdata.*'], { env, cwd })
      .done;
    const out = join(cwd, '_kola_temp', readlinkSync(join(cwd, '_kola_temp', 'aws-latest')));
    const report = JSON.parse(readFileSync(join(out, 'reports/report.json'), 'utf8')) as Report;
    const results = Object.fromEntries(report.tests.map((t) => [t.name, t.result]));
    expect(r.code, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}\n${emulatorLog.slice(-2000)}`).toBe(0);
    expect(results).toEqual({
      basic: 'PASS',
      'basic/ssh': 'PASS',
      'basic/os-release': 'PASS',
      'basic/machine-id': 'PASS',
      'basic/failed-units': 'SKIP', // no systemd on the minimal image
      'userdata.cloud-config': 'PASS',
      'userdata.ignition.files': 'PASS',
      'userdata.ignition.hostname': 'PASS',
      'userdata.ignition.ssh-keys': 'PASS',
      // the minimal image has no systemd to start units
      'userdata.ignition.units': 'SKIP',
      'userdata.script': 'PASS',
    });

    // the journal kola saved for an Ignition test: Ignition's aws provider (IMDSv2) fetched the
    // config at the metadata address, knew its region, and applied it
    const files = report.tests.find((t) => t.name === 'userdata.ignition.files')!;
    const machine = files.machines![0]!;
    expect(machine.id).toMatch(/^i-[0-9a-f]{17}$/);
    const journal = readFileSync(join(out, 'userdata.ignition.files', machine.id, 'journal.txt'), 'utf8');
    expect(journal).toContain('ignition.platform.id=aws');
    expect(journal).toMatch(/ignition: .*PUT http:\/\/169\.254\.169\.254\/latest\/api\/token/);
    expect(journal).toMatch(/ignition: .*GET http:\/\/169\.254\.169\.254\/[^/]+\/user-data/);
    expect(journal).toContain('ignition: INFO     : Ignition finished successfully');
    expect(journal).not.toContain('failed to determine EC2 region');
    // a script is not an Ignition config: Ignition did not run, kola's agent ran it
    const script = report.tests.find((t) => t.name === 'userdata.script')!.machines![0]!;
    const console = readFileSync(join(out, 'userdata.script', script.id, 'console.txt'), 'utf8');
    expect(console).toContain('Ignition does not run');
    expect(
      [...qemusStartedBy(emulator!.pid!).keys()],
      'every VM of the run is gone once kola is done',
    ).toEqual([]);
  });

  it('userdata base64-encoded twice: the real Ignition rejects what the guest reads, and the key does not log in', async () => {
    const identity = generateSshIdentity();
    const config = {
      ignition: { version: '3.3.0' },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: [identity.publicKey] }] },
    };
    const twice = Buffer.from(Buffer.from(JSON.stringify(config)).toString('base64')).toString('base64');
    const ec2 = new EC2Client({
      region: ready.env.AWS_REGION!,
      endpoint: ready.env.AWS_ENDPOINT_URL!,
      credentials: {
        accessKeyId: ready.env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: ready.env.AWS_SECRET_ACCESS_KEY!,
      },
    });
    const ami = ready.kola[ready.kola.indexOf('--aws-ami') + 1]!;
    const launched = await ec2.send(
      new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, UserData: twice }),
    );
    const instanceId = launched.Instances![0]!.InstanceId!;
    try {
      const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const host = described.Reservations![0]!.Instances![0]!.PublicIpAddress!;
      let console = '';
      // the image provisions, then starts dropbear: log in once it listens
      for (let i = 0; i < 120 && !/starting dropbear/.test(console); i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
        console = Buffer.from(out.Output ?? '', 'base64').toString();
      }
      expect(console).toContain('kola-init: Ignition failed (stage fetch, platform aws)');
      // dropbear may still be starting: retry while the connection itself fails
      let login = '';
      for (let i = 0; i < 30; i++) {
        login = await tryLogin(host, identity.privateKey, 60_000);
        if (!/ECONNRESET|ECONNREFUSED|before handshake/.test(login)) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(login, console).toMatch(/authentication methods failed/);
    } finally {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      ec2.destroy();
    }
  });

  it('SIGTERM: kola-emulator destroys every VM it started and exits 0', async () => {
    const pid = emulator!.pid!;
    expect(await stopEmulator()).toBe(0);
    expect([...qemusStartedBy(pid).keys()]).toEqual([]);
  });
});
