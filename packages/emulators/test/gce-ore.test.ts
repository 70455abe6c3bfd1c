import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImagesClient } from '@google-cloud/compute';
import { createGceClients, type GceClients, gceOptions } from '@mantle/platform-api-gce';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type GceEmulator, startGceEmulator } from '../src/gce/emulator.js';
import { ore, startOre } from './support/ore-process.js';

// Every `ore gcloud` verb as a real ore process (the built CLI: `pnpm run build` first) against the
// GCE emulator, whose image check reads the whole tar.gz as GCE's importer does.

// uploads of whole-GiB disks and images GCE-style (the emulator reads every archive) take a while
vi.setConfig({ testTimeout: 180_000 });

const gib = 1024 ** 3;
const mib = 1024 ** 2;

let emulator: GceEmulator;
let dir: string;
let clients: GceClients;
/** The SDK's own images client: ore makes images over REST, the checks read them back through the SDK. */
let images: ImagesClient;
/** A fresh kola cache per test: upload state files do not leak between them. */
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startGceEmulator({ machines: 'none', log: () => {} });
  dir = mkdtempSync(join(tmpdir(), 'gce-ore-'));
  clients = createGceClients(
    gceOptions.parse({ endpoint: emulator.endpoint, project: emulator.project, jsonKey: emulator.keyFile }),
  );
  const endpoint = new URL(emulator.endpoint);
  images = new ImagesClient({
    fallback: true,
    authClient: clients.auth,
    apiEndpoint: endpoint.hostname,
    port: Number(endpoint.port),
    protocol: 'http',
  } as never);
});
afterAll(async () => {
  await clients?.close();
  await images?.close();
  const violations = emulator?.violations() ?? [];
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
  expect(violations).toEqual([]);
});

let cacheN = 0;
function freshCache(): Record<string, string> {
  env = { XDG_CACHE_HOME: join(dir, `cache-${++cacheN}`) };
  return env;
}

/** A sparse raw disk of `size` with random data at the given offsets. */
function rawDisk(name: string, size: number, pieces: Array<[number, number]>): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  for (const [at, length] of pieces) writeSync(fd, randomBytes(length), 0, length, at);
  closeSync(fd);
  return path;
}

const gcloud = (verb: string, ...args: string[]) => ore(['gcloud', verb, ...args, ...emulator.ore], env);

async function imageNames(): Promise<string[]> {
  const r = await gcloud('list-images', '--json');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ name: string }>).map((i) => i.name);
}

describe('ore gcloud upload', () => {
  it('a raw disk: streamed as the sparse tar.gz, the image made (mantle’s name), CRC32C matched', async () => {
    freshCache();
    const disk = rawDisk('a.raw', gib, [
      [0, 64 * 1024],
      [700 * mib, 2 * mib],
    ]);
    const r = await gcloud(
      'upload',
      '--file',
      disk,
      '--name',
      'Flatcar-1.2.3+dev',
      '--family',
      'kola-ci',
      '--json',
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.image).toMatchObject({
      name: 'flatcar-1-2-3-dev',
      family: 'kola-ci',
      status: 'READY',
      diskSizeGb: 1,
    });
    expect(out.image.labels).toEqual({ 'created-by': 'mantle' });
    expect(out.object).toBe(`gs://${emulator.project}-kola-images/Flatcar-1.2.3+dev.tar.gz`);
    // only the data went: about 2 MiB of random bytes, not the GiB
    expect(out.bytesSent).toBeGreaterThan(2 * mib);
    expect(out.bytesSent).toBeLessThan(2.2 * mib);
    const [image] = await images.get({ project: emulator.project, image: 'flatcar-1-2-3-dev' });
    expect(image.guestOsFeatures?.map((f) => f.type)).toEqual(['VIRTIO_SCSI_MULTIQUEUE']);
    expect(image.rawDisk?.source).toBe(
      `https://storage.googleapis.com/${emulator.project}-kola-images/Flatcar-1.2.3%2Bdev.tar.gz`,
    );
  });
});

describe('ore gcloud upload: existing things, a ready tar.gz, bad input', () => {
  it('a ready tar.gz (GNU tar’s own) is sent as it is; an existing object or image is an error naming --force', async () => {
    freshCache();
    rawDisk('disk.raw', gib, [[gib - mib, mib]]);
    const targz = join(dir, 'gnu.tar.gz');
    execFileSync('tar', ['--format=oldgnu', '-Sczf', targz, '-C', dir, 'disk.raw']);
    const args = [
      '--file',
      targz,
      '--name',
      'gnu-made',
      '--bucket',
      `gs://${emulator.bucket}/builds`,
      '--json',
    ];
    const first = await gcloud('upload', ...args);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      object: `gs://${emulator.bucket}/builds/gnu-made.tar.gz`,
    });
    expect(await imageNames()).toContain('gnu-made');

    // a new run with the same name (another cache: not the run that made them)
    freshCache();
    const again = await gcloud('upload', ...args);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toEqual([
      'ore: image gnu-made already exists in project kola-emulated (pass --force to delete it and make it again, or choose another name)',
    ]);
    const forced = await gcloud('upload', ...args, '--force');
    expect(forced.stderr).toMatch(/--force: deleting image gnu-made/);
    expect(forced.code).toBe(0);

    // the image gone but the object there: the object is named
    expect((await gcloud('delete-images', 'gnu-made')).code).toBe(0);
    freshCache();
    const objectThere = await gcloud('upload', ...args);
    expect(objectThere.code).toBe(2);
    expect(objectThere.stderr).toMatch(
      /^ore: gs:\/\/kola-images\/builds\/gnu-made\.tar\.gz already exists \(pass --force/,
    );
  });

  it('the object an earlier run made from this file is reused: only the image is made again', async () => {
    freshCache();
    const disk = rawDisk('reuse.raw', gib, [[0, mib]]);
    const args = ['--file', disk, '--name', 'reuse', '--json'];
    expect((await gcloud('upload', ...args)).code).toBe(0);
    expect((await gcloud('delete-images', 'reuse')).code).toBe(0);
    // same cache, same file: the object is ours, so only the image is made again
    const r = await gcloud('upload', ...args);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ reused: true, image: { name: 'reuse' } });
  });

  it('bad flags and credentials: one line, exit 2, nothing made', async () => {
    freshCache();
    const bad = rawDisk('bad.raw', gib + 512, [[0, 512]]);
    const disk = rawDisk('good.raw', gib, [[0, 512]]);
    const cases: Array<[string[], RegExp]> = [
      [
        ['upload', '--file', bad, '--name', 'x'],
        /^ore: --file .*bad\.raw: a raw disk of 1073742336 bytes; GCE imports disks of a whole number of GiB/,
      ],
      [['upload', '--file', join(dir, 'nope.raw'), '--name', 'x'], /^ore: --file .*nope\.raw: no such file$/],
      [
        ['upload', '--file', disk, '--name', 'x', '--bucket', 's3://x'],
        /^ore: --bucket "s3:\/\/x": not a Cloud Storage URL/,
      ],
      [
        ['upload', '--file', disk, '--name', 'x', '--expires-at', '2001-01-01T00:00:00Z'],
        /^ore: --expires-at 2001-01-01T00:00:00Z: that is in the past$/,
      ],
      [['upload', '--file', disk, '--name', 'bad name'], /^ore: .*must be letters, digits or/],
      [
        ['create-image', '--source', 'gs://kola-images', '--name', 'x'],
        /^ore: --source "gs:\/\/kola-images": not gs:\/\/bucket\/object$/,
      ],
      [
        ['create-image', '--source', 'gs://kola-images/none.tar.gz', '--name', 'x'],
        /^ore: --source gs:\/\/kola-images\/none\.tar\.gz: no such object$/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await gcloud(...(args as [string, ...string[]]));
      expect(r.code, args.join(' ')).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
    // credentials: a key file that is not one, and a key the token endpoint refuses
    const notKey = join(dir, 'not-key.json');
    writeFileSync(notKey, JSON.stringify({ type: 'service_account', client_email: 'a@b' }), { mode: 0o600 });
    const noProject = ['--gce-endpoint', emulator.endpoint, '--gce-project', emulator.project];
    const notAKey = await ore(['gcloud', 'list-images', ...noProject, '--gce-json-key', notKey], env);
    expect(notAKey.code).toBe(2);
    expect(notAKey.stderr.trim()).toMatch(
      /^ore: .*not-key\.json: field "private_key": missing \(expected string\)$/,
    );
    const stranger = join(dir, 'stranger.json');
    writeFileSync(
      stranger,
      JSON.stringify({
        type: 'service_account',
        client_email: 'stranger@kola-emulated.iam.gserviceaccount.com',
        private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        }),
        token_uri: `${emulator.endpoint}/token`,
      }),
      { mode: 0o600 },
    );
    const refused = await ore(['gcloud', 'list-images', ...noProject, '--gce-json-key', stranger], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^ore: gce: .*\/token refused a token for stranger@/);
    const zone = await ore(
      ['gcloud', 'list-instances', ...noProject, '--gce-json-key', emulator.keyFile, '--gce-zone', 'nowhere'],
      env,
    );
    expect(zone.code).toBe(2);
    expect(zone.stderr.trim()).toBe('ore: --gce-zone: must be a zone like us-central1-a');
    const none = await ore(['gcloud', 'list-images', ...noProject], {
      ...env,
      HOME: dir,
      GOOGLE_APPLICATION_CREDENTIALS: '',
    });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(
      'ore: gce: no credentials: pass --gce-json-key FILE (a service-account key), set $GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default login`, or pass --gce-service-auth on a GCE VM',
    );
  });
});

describe('ore gcloud image verbs', () => {
  it('create-image from an object, list-images --prefix, delete-images (refusing images ore did not make)', async () => {
    freshCache();
    const disk = rawDisk('ci.raw', gib, [[mib, mib]]);
    const up = await gcloud('upload', '--file', disk, '--name', 'ci-base', '--json');
    expect(up.code).toBe(0);
    const object = JSON.parse(up.stdout).object as string;
    const made = await gcloud(
      'create-image',
      '--source',
      object,
      '--name',
      'ci-copy',
      '--family',
      'ci',
      '--license',
      'projects/kola-emulated/global/licenses/kola',
      '--json',
    );
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout).image).toMatchObject({ name: 'ci-copy', family: 'ci', status: 'READY' });
    const [copy] = await images.get({ project: emulator.project, image: 'ci-copy' });
    expect(copy.licenses).toEqual([
      'https://www.googleapis.com/compute/v1/projects/kola-emulated/global/licenses/kola',
    ]);

    const listed = await gcloud('list-images', '--prefix', 'ci-', '--json');
    expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((i) => i.name)).toEqual([
      'ci-base',
      'ci-copy',
    ]);
    const text = await gcloud('list-images', '--prefix', 'ci-');
    expect(text.stdout).toMatch(/^ci-base\t-\tREADY\t\S+\tore\nci-copy\tci\tREADY\t\S+\tore\n?$/);

    const del = await gcloud('delete-images', 'ci-base', 'ci-copy', emulator.imageName, 'no-such');
    expect(del.code).toBe(1);
    expect(del.stdout).toContain('deleted\tci-base');
    expect(del.stdout).toContain('deleted\tci-copy');
    expect(del.stdout).toContain(`refused\t${emulator.imageName}\tnot made by ore`);
    expect(del.stdout).toContain('not found\tno-such');
    const left = await imageNames();
    expect(left).toContain(emulator.imageName);
    expect(left).not.toContain('ci-base');
  });
});

interface Planted {
  zone: string;
  name: string;
  labels?: Record<string, string>;
  metadata?: Record<string, string>;
  deletionProtection?: boolean;
  stop?: boolean;
}

/** Waits for the zone operation an SDK call started. */
async function finished(zone: string, lro: { latestResponse?: unknown }): Promise<void> {
  const operations = await clients.zoneOperations();
  let op = lro.latestResponse as { name?: string | null; status?: unknown };
  while (op.status !== 'DONE')
    [op] = await operations.wait({ project: emulator.project, zone, operation: op.name ?? '' });
}

/** Instances made straight through the API (another tool, or a kola run), `parallel` at a time. */
async function plant(all: Planted[], parallel = 40): Promise<Map<string, Date>> {
  const instances = await clients.instances();
  const created = new Map<string, Date>();
  const one = async (p: Planted) => {
    const [lro] = await instances.insert({
      project: emulator.project,
      zone: p.zone,
      instanceResource: {
        name: p.name,
        machineType: `zones/${p.zone}/machineTypes/e2-micro`,
        labels: p.labels ?? {},
        metadata: { items: Object.entries(p.metadata ?? {}).map(([key, value]) => ({ key, value })) },
        deletionProtection: p.deletionProtection ?? false,
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: {
              sourceImage: `projects/${emulator.project}/global/images/${emulator.imageName}`,
            },
          },
        ],
        networkInterfaces: [{ network: 'global/networks/default' }],
      },
    });
    await finished(p.zone, lro);
    if (p.stop) {
      const [stop] = await instances.stop({ project: emulator.project, zone: p.zone, instance: p.name });
      await finished(p.zone, stop);
    }
    const [got] = await instances.get({ project: emulator.project, zone: p.zone, instance: p.name });
    created.set(`${p.zone}/${p.name}`, new Date(got.creationTimestamp ?? ''));
  };
  for (let i = 0; i < all.length; i += parallel) await Promise.all(all.slice(i, i + parallel).map(one));
  return created;
}

const zones = ['us-central1-a', 'europe-west1-b', 'us-east1-c'];

/** The emulator's flags without --gce-zone: gc then sweeps every zone (a zone given restricts it). */
const everyZone = () => emulator.ore.filter((a, i, all) => a !== '--gce-zone' && all[i - 1] !== '--gce-zone');
const mine = { 'created-by': 'mantle' };

describe('ore gcloud list-instances / destroy-instances', () => {
  it('the <basename>- instances; destroy plans by default, spares the young, the foreign and the protected', async () => {
    freshCache();
    const z = emulator.zone;
    await plant([
      { zone: z, name: 'kola-old-1', labels: mine },
      { zone: z, name: 'kola-old-2', metadata: mine, stop: true },
      { zone: z, name: 'kola-foreign', labels: { 'created-by': 'someone' } },
      { zone: z, name: 'kola-protected', labels: mine, deletionProtection: true },
      { zone: z, name: 'kolaxnot', labels: mine },
      { zone: 'europe-west1-b', name: 'kola-elsewhere', labels: mine },
    ]);
    const list = await gcloud('list-instances', '--json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ name: string; status: string; zone: string }>;
    expect(rows.map((r) => r.name)).toEqual(['kola-foreign', 'kola-old-1', 'kola-old-2', 'kola-protected']);
    expect(rows.find((r) => r.name === 'kola-old-2')?.status).toBe('TERMINATED');
    const all = await gcloud('list-instances', '--all-zones', '--json');
    expect((JSON.parse(all.stdout) as unknown[]).length).toBe(5);

    await new Promise((r) => setTimeout(r, 15_000));
    await plant([{ zone: z, name: 'kola-young', labels: mine }]);
    // at once: the verb measures ages with the real clock
    const plan = await gcloud('destroy-instances', '--older-than', '12s', '--json');
    expect(plan.code).toBe(0);
    const verdicts = Object.fromEntries(
      (JSON.parse(plan.stdout) as Array<{ name: string; action: string; reason: string }>).map((r) => [
        r.name,
        `${r.action}: ${r.reason}`,
      ]),
    );
    expect(verdicts).toMatchObject({
      'kola-old-1': expect.stringMatching(/^would-remove: age /),
      'kola-old-2': expect.stringMatching(/^would-remove: age /),
      'kola-foreign': 'kept: not created by this tool (no created-by=mantle tag)',
      'kola-protected': 'kept: deletion protection is on',
      'kola-young': expect.stringMatching(/^kept: younger than/),
    });
    expect(emulator.instances()).toHaveLength(7);

    const applied = await gcloud('destroy-instances', '--older-than', '12s', '--apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/2 removed, 3 kept, 0 failed\n?$/);
    expect(emulator.instances().sort()).toEqual(
      [
        'europe-west1-b/kola-elsewhere',
        `${z}/kola-foreign`,
        `${z}/kola-protected`,
        `${z}/kola-young`,
        `${z}/kolaxnot`,
      ].sort(),
    );
    // leave only the protected one (the emulator has no setDeletionProtection) for the gc test
    const instances = await clients.instances();
    for (const id of emulator.instances().filter((i) => !i.endsWith('/kola-protected'))) {
      const [zone, name] = id.split('/') as [string, string];
      const [op] = await instances.delete({ project: emulator.project, zone, instance: name });
      await finished(zone, op);
    }
    expect(emulator.instances()).toEqual([`${z}/kola-protected`]);
  });
});

describe('ore gcloud gc', () => {
  it('instances: every zone and page (TERMINATED included); the plan deletes nothing, --apply exactly the candidates', async () => {
    freshCache();
    // ~520 instances over 3 zones: two pages of aggregatedList; most carry no created-by (not listed)
    const filler: Planted[] = Array.from({ length: 505 }, (_, i) => ({
      zone: zones[i % 3]!,
      name: `other-${i}`,
    }));
    const old: Planted[] = zones.flatMap((zone, k) => [
      { zone, name: `kola-running-${k}`, labels: mine },
      { zone, name: `kola-stopped-${k}`, labels: mine, stop: true },
      { zone, name: `kola-mantle-${k}`, metadata: mine },
    ]);
    const kept: Planted[] = [
      { zone: zones[0]!, name: 'kola-keep', labels: { ...mine, 'keep-until': '2099-01-01t00-00-00z' } },
      { zone: zones[1]!, name: 'kola-guarded', labels: mine, deletionProtection: true },
      { zone: zones[2]!, name: 'kola-theirs', labels: { 'created-by': 'someone-else' } },
      { zone: zones[0]!, name: 'kola-badexpiry', labels: { ...mine, 'expires-at': 'soon' } },
    ];
    const before = emulator.instances().length;
    await plant([...filler, ...old, ...kept]);
    await new Promise((r) => setTimeout(r, 4000));
    const young = await plant(zones.map((zone, k) => ({ zone, name: `kola-young-${k}`, labels: mine })));
    const now = new Date(Math.max(...[...young.values()].map((d) => d.getTime())) + 1000).toISOString();
    const total = emulator.instances().length;
    expect(total).toBe(before + 505 + 9 + 4 + 3);

    emulator.requests.reset();
    const plan = await ore(['gcloud', 'gc', '--older-than', '3s', '--json', ...everyZone()], {
      ...env,
      ORE_TEST_NOW: now,
    });
    expect(plan.code).toBe(0);
    expect(emulator.instances()).toHaveLength(total);
    expect(emulator.requests.counts().get('compute.instances.aggregatedList')).toBe(2);
    const report = JSON.parse(plan.stdout).report as {
      results: Array<{ resource: { id: string; location: string }; action: string; reason: string }>;
    };
    const byAction = (a: string) =>
      report.results
        .filter((r) => r.action === a && r.resource.id.startsWith('kola-'))
        .map((r) => `${r.resource.location}/${r.resource.id}`)
        .sort();
    const expected = old.map((p) => `${p.zone}/${p.name}`).sort();
    expect(byAction('would-remove')).toEqual(expected);
    const reasons = Object.fromEntries(report.results.map((r) => [r.resource.id, r.reason]));
    expect(reasons).toMatchObject({
      'kola-keep': 'keep-until 2099-01-01T00:00:00.000Z',
      'kola-guarded': 'deletion protection is on',
      'kola-theirs': 'not created by this tool (no created-by=mantle tag)',
      'kola-badexpiry': 'expires-at tag "soon" is not an RFC 3339 date',
      'kola-young-0': expect.stringMatching(/^younger than/),
    });
    expect(report.results.some((r) => r.resource.id.startsWith('other-'))).toBe(false);

    const apply = await ore(['gcloud', 'gc', '--older-than', '3s', '--apply', ...everyZone()], {
      ...env,
      ORE_TEST_NOW: now,
    });
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^gce: project kola-emulated, credentials service account /);
    expect(apply.stdout).toMatch(/gce: 9 removed, \d+ kept, 0 failed\n/);
    const left = new Set(emulator.instances());
    for (const p of old) expect(left.has(`${p.zone}/${p.name}`)).toBe(false);
    expect(left.size).toBe(total - 9);
    // `ore gc -p gcloud` is the same sweep; nothing is left to do
    const again = await ore(
      [
        'gc',
        '-p',
        'gcloud',
        '--older-than',
        '3s',
        '--gce-endpoint',
        emulator.endpoint,
        '--gce-project',
        emulator.project,
        '--gce-json-key',
        emulator.keyFile,
      ],
      { ...env, ORE_TEST_NOW: now },
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/gce: 0 would be removed/);
  }, 180_000);

  it('images and upload objects ore made: only once their expires-at has passed', async () => {
    freshCache();
    const disk = rawDisk('gc.raw', gib, [[0, mib]]);
    const up = (name: string, ...extra: string[]) =>
      gcloud('upload', '--file', disk, '--name', name, '--bucket', 'gs://kola-gc-bucket/u', ...extra);
    expect((await up('gc-expiring', '--expires-in', '1h')).code).toBe(0);
    expect((await up('gc-later', '--expires-in', '30d')).code).toBe(0);
    expect((await up('gc-forever')).code).toBe(0);
    // in a bucket ore did not make (no label): its object is not looked at
    expect(
      (
        await gcloud(
          'upload',
          '--file',
          disk,
          '--name',
          'gc-elsewhere',
          '--bucket',
          `gs://${emulator.bucket}/gc`,
          '--expires-in',
          '1h',
        )
      ).code,
    ).toBe(0);
    const inTwoHours = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const run = (...extra: string[]) =>
      ore(
        [
          'gcloud',
          'gc',
          '--kind',
          'gce.image',
          '--kind',
          'gce.upload-object',
          '--json',
          ...extra,
          ...emulator.ore,
        ],
        {
          ...env,
          ORE_TEST_NOW: inTwoHours,
        },
      );
    const plan = await run();
    expect(plan.code).toBe(0);
    const results = (
      JSON.parse(plan.stdout).report.results as Array<{
        resource: { kind: string; id: string };
        action: string;
        reason: string;
      }>
    ).map((r) => `${r.action} ${r.resource.kind} ${r.resource.id}`);
    expect(results.filter((r) => r.startsWith('would-remove')).sort()).toEqual([
      'would-remove gce.image gc-elsewhere',
      'would-remove gce.image gc-expiring',
      'would-remove gce.upload-object gs://kola-gc-bucket/u/gc-expiring.tar.gz',
    ]);
    expect(results).toContain('kept gce.image gc-later');
    expect(results).toContain('kept gce.image gc-forever');
    expect(results.some((r) => r.includes(emulator.imageName))).toBe(false);
    expect((await run('--apply')).code).toBe(0);
    const images = await imageNames();
    expect(images).not.toContain('gc-expiring');
    expect(images).toEqual(expect.arrayContaining(['gc-later', 'gc-forever', emulator.imageName]));
  });
});

describe('ore gcloud upload: interrupted and resumed', () => {
  const chunkOp = 'storage.objects.insert.resumableChunk';

  it('SIGINT mid-upload: exit 130, nothing made; the same command sends only the rest, holes never read again', async () => {
    // every chunk takes 300 ms, so there is time to interrupt
    const slow = await startGceEmulator({
      machines: 'none',
      log: () => {},
      faults: {
        rate: 1,
        seed: 1,
        kinds: ['latency'],
        operations: [chunkOp],
        latencyMs: { min: 300, max: 300 },
      },
    });
    try {
      freshCache();
      const disk = rawDisk('resume.raw', gib, [[100 * mib, 24 * mib]]);
      const args = [
        'gcloud',
        'upload',
        '--file',
        disk,
        '--name',
        'resumed',
        '--chunk-mib',
        '1',
        '--json',
        ...slow.ore,
      ];
      const first = startOre(args, env);
      const acknowledged = () =>
        slow.requests.entries().filter((e) => e.operationId === chunkOp && e.status === 308).length;
      // the first 308 answers the upload's opening status query; the next five each hold 1 MiB
      for (let i = 0; acknowledged() < 6; i++) {
        if (i > 600) throw new Error(`no chunks acknowledged: ${first.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGINT');
      const r1 = await first.done;
      expect(r1.code).toBe(130);
      expect(r1.stderr).toMatch(/upload interrupted; the same command resumes it/);
      const state = readdirSync(join(env.XDG_CACHE_HOME!, 'kola', 'gce-uploads'));
      expect(state).toHaveLength(1);
      expect(slow.requests.entries().filter((e) => e.operationId === 'compute.images.insert')).toEqual([]);

      const r2 = await ore(args, env);
      expect(r2.code).toBe(0);
      expect(r2.stderr).not.toMatch(/scanning for holes/);
      expect(r2.stderr).toMatch(/resumed the upload at byte \d+/);
      const out = JSON.parse(r2.stdout);
      expect(out.resumedAt).toBeGreaterThanOrEqual(5 * mib);
      // what the second run sent is the rest: at most one chunk of the first is sent again
      expect(out.bytesSent).toBeLessThanOrEqual(out.objectSize - out.resumedAt + mib);
      expect(out.resumedAt + out.bytesSent).toBeGreaterThanOrEqual(out.objectSize);
      expect(out.image).toMatchObject({ name: 'resumed', status: 'READY' });
      expect(slow.violations()).toEqual([]);
    } finally {
      await slow.stop();
    }
  });

  it('dropped connections and 5xx mid-chunk: the session is asked where it stands and the upload finishes in one run', async () => {
    const flaky = await startGceEmulator({
      machines: 'none',
      log: () => {},
      faults: { rate: 0.3, seed: 7, kinds: ['drop', 'server-error'], operations: [chunkOp] },
    });
    try {
      freshCache();
      const disk = rawDisk('flaky.raw', gib, [[0, 12 * mib]]);
      const r = await ore(
        ['gcloud', 'upload', '--file', disk, '--name', 'flaky', '--chunk-mib', '1', '--json', ...flaky.ore],
        env,
      );
      expect(r.stderr).not.toMatch(/^ore:/m);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).image).toMatchObject({ name: 'flaky', status: 'READY' });
      const faults = flaky.faultsInjected();
      expect((faults.get('drop') ?? 0) + (faults.get('server-error') ?? 0)).toBeGreaterThan(2);
      expect(flaky.violations()).toEqual([]);
    } finally {
      await flaky.stop();
    }
  });
});
