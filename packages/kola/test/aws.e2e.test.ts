import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../platform-api-aws/src/api/clients.js';
import { type Moto, motoCredentials, startMoto } from '../../platform-api-aws/src/testing/moto.js';
import { liveKolaResources, registerTestImage } from '../../platform-api-aws/test/support/ssh-router.js';
import {
  collect,
  fixtureTests,
  fixtureTestsDir,
  kola,
  ledgerAlive,
  readJson,
  startKola,
  tempDir,
  waitUntil,
} from './helpers.js';

const dialerModule = join(fixtureTestsDir, 'aws/dialer.mjs');

let moto: Moto;
let clients: AwsClients;
let ec2: Awaited<ReturnType<AwsClients['ec2']>>;
let amiId: string;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
  moto = await startMoto();
  clients = createAwsClients(moto.options(), { maxAttempts: 1 });
  ec2 = await clients.ec2();
});
afterAll(async () => {
  clients?.destroy();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  amiId = await registerTestImage(ec2, 'kola-e2e-image');
});

/** A kola process pointed at moto, with its SSH routed to mock machines and the fixture tests. */
function awsEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...moto.env(),
    KOLA_TEST_DIALER: dialerModule,
    KOLA_TEST_MODULES: fixtureTests,
    ...extra,
  };
  delete env.KOLA_TEST_PLATFORMS;
  return env;
}

const awsArgs = (out: string) => [
  '-p',
  'aws',
  '--aws-endpoint',
  moto.endpoint,
  '--aws-ami',
  amiId,
  '--output-dir',
  out,
  '--ssh-timeout',
  '20s',
  // moto's console never changes after terminate: do not wait for it
  '--aws-console-wait',
  '1',
];

function filesNamed(dir: string, name: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...filesNamed(path, name));
    else if (entry === name) found.push(path);
  }
  return found;
}

describe('kola run -p aws against moto', () => {
  it('runs a test, reports it, saves each machine’s console and leaves nothing behind', async () => {
    const out = join(tempDir('kola-aws-'), 'out');
    const r = await kola(['run', 'fixture.pass', ...awsArgs(out)], { env: awsEnv(), timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = readJson<{ tests: Array<{ name: string; result: string }> }>(
      join(out, 'reports/report.json'),
    );
    expect(report.tests).toEqual([expect.objectContaining({ name: 'fixture.pass', result: 'PASS' })]);
    const props = readJson<{ platform: string; aws: Record<string, unknown> }>(join(out, 'properties.json'));
    expect(props.platform).toBe('aws');
    expect(props.aws).toMatchObject({ region: 'us-west-2', ami: amiId, type: 't3.small' });
    const consoles = filesNamed(out, 'console.txt');
    expect(consoles).toHaveLength(1);
    expect(consoles[0]).toMatch(/\/i-[0-9a-f]+\/console\.txt$/);
    expect(readFileSync(consoles[0]!, 'utf8')).toMatch(/\S/);
    expect(ledgerAlive(out)).toEqual([]);
    const created = readFileSync(join(out, 'ledger.jsonl'), 'utf8');
    expect(created).toContain('"kind":"instance"');
    expect(created).toContain('"kind":"key-pair"');
    expect(await liveKolaResources(ec2)).toEqual([]);
  }, 120_000);

  it('SIGINT mid-run leaves no instance, key pair or other kola resource in moto', async () => {
    const out = join(tempDir('kola-aws-'), 'out');
    const timeline = join(tempDir('kola-aws-'), 'timeline');
    const child = startKola(['run', 'fixture.hang', ...awsArgs(out)], {
      env: awsEnv({ FIXTURE_TIMELINE: timeline }),
    });
    const done = collect(child, 90_000);
    // mid-run: the instance runs and the test's command is executing on it over SSH
    await waitUntil(
      () => existsSync(timeline) && readFileSync(timeline, 'utf8').includes('fixture.hang start'),
      'the test to start',
      60_000,
    );
    await waitUntil(
      () => ledgerAlive(out).some((k) => k.includes('/instance/')),
      'the instance in the ledger',
    );
    expect((await liveKolaResources(ec2)).some((r) => r.startsWith('instance '))).toBe(true);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(ledgerAlive(out)).toEqual([]);
    expect(await liveKolaResources(ec2)).toEqual([]);
  }, 120_000);
});
