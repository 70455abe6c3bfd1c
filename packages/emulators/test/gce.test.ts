import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { dirname } from 'node:path';
import type { protos } from '@google-cloud/compute';
import { CRC32C } from '@google-cloud/storage';
import { connectSsh, execSsh, generateSshIdentity } from '@mantle/cluster';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDiskArchive } from '../src/gce/disk-archive-fixtures.js';
import { type GceEmulator, startGceEmulator } from '../src/gce/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import {
  accessToken,
  assertion,
  type GceClients,
  gceClients,
  grant,
  readKey,
} from './support/gce-clients.js';
import { tryLogin } from './support/ssh-login.js';

// The GCE emulator through the real SDK clients (@google-cloud/compute 6.15 over REST,
// @google-cloud/storage 7.22), every request and answer checked against the Discovery documents,
// its instances machines of the ssh backend.

type Operation = protos.google.cloud.compute.v1.IOperation;

let emulator: GceEmulator;
let gce: GceClients;
let token: string;
const identity = generateSshIdentity();

beforeAll(async () => {
  emulator = await startGceEmulator({ machines: 'ssh', log: () => {} });
  token = await accessToken(emulator.keyFile);
  gce = gceClients(emulator.endpoint, emulator.project, token);
});
afterEach(() => expectNoViolations(emulator));
afterAll(async () => {
  await gce?.close().catch(() => {});
  await emulator?.stop();
});

const project = () => emulator.project;

/** Waits for a zone or global operation as a platform does: `wait` until DONE. */
async function done(started: { latestResponse: unknown } | Operation, zone?: string): Promise<Operation> {
  let op = ('latestResponse' in started ? started.latestResponse : started) as Operation;
  while (op.status !== 'DONE')
    [op] = zone
      ? await gce.zoneOperations.wait({ project: project(), zone, operation: op.name! })
      : await gce.globalOperations.wait({ project: project(), operation: op.name! });
  return op;
}

function instanceResource(
  name: string,
  zone: string,
  extra: Partial<protos.google.cloud.compute.v1.IInstance> = {},
) {
  return {
    name,
    machineType: `zones/${zone}/machineTypes/n1-standard-1`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: `projects/${project()}/global/images/${emulator.imageName}`,
          diskType: `zones/${zone}/diskTypes/pd-ssd`,
        },
      },
    ],
    networkInterfaces: [
      {
        network: 'global/networks/default',
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      },
    ],
    ...extra,
  };
}

async function insert(
  name: string,
  zone: string,
  extra: Partial<protos.google.cloud.compute.v1.IInstance> = {},
) {
  const [lro] = await gce.instances.insert({
    project: project(),
    zone,
    instanceResource: instanceResource(name, zone, extra),
  });
  return done(lro, zone);
}

async function remove(name: string, zone: string) {
  const [lro] = await gce.instances.delete({ project: project(), zone, instance: name });
  return done(lro, zone);
}

const login = (host: string) => tryLogin(host, identity.privateKey);

async function run(host: string, command: string): Promise<string> {
  const client = await connectSsh({ host, port: 22 }, { identity, timeoutMs: 20_000 });
  try {
    return (await execSsh(client, command, { timeoutMs: 20_000 })).stdout;
  } finally {
    client.end();
  }
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${emulator.endpoint}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  });

describe('credentials', () => {
  it('writes a service-account key whose token_uri is the emulator, readable by its owner only', () => {
    const key = readKey(emulator.keyFile) as ReturnType<typeof readKey> & Record<string, string>;
    expect(key.type).toBe('service_account');
    expect(key.token_uri).toBe(`${emulator.endpoint}/token`);
    expect(key.client_email).toBe(`kola@${emulator.project}.iam.gserviceaccount.com`);
    expect(key.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(emulator.keyFile).mode & 0o777).toBe(0o600);
    expect(emulator.env).toEqual({ GOOGLE_APPLICATION_CREDENTIALS: emulator.keyFile });
    expect(emulator.kola).toEqual([
      '-p',
      'gce',
      '--gce-endpoint',
      emulator.endpoint,
      '--gce-project',
      'kola-emulated',
      '--gce-zone',
      'us-central1-a',
      '--gce-json-key',
      emulator.keyFile,
      '--gce-image',
      'kola-test-image-minimal',
    ]);
    expect(emulator.ore).toEqual(emulator.kola.slice(2, -2));
  });

  it('trades a JWT signed by the key for a token; refuses another key, an old JWT, another audience', async () => {
    const key = readKey(emulator.keyFile);
    const exchange = (jwt: string) => grant(key.token_uri, jwt);
    const ok = await exchange(assertion(key));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    expect(String(ok.body.access_token)).toMatch(/^ya29\./);

    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(await exchange(assertion({ ...key, private_key: String(other) }))).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
    });
    const old = await exchange(assertion(key, {}, Math.floor(Date.now() / 1000) - 7200));
    expect(old.body.error).toBe('invalid_grant');
    expect(String(old.body.error_description)).toMatch(/short-lived token/);
    expect((await exchange(assertion(key, { aud: 'https://example.com/token' }))).body.error).toBe(
      'invalid_grant',
    );
    expect((await exchange(assertion(key, { scope: '' }))).body.error).toBe('invalid_scope');
  });

  it('answers 401 without a token or with a wrong one, on Compute and Storage alike', async () => {
    for (const path of [`/compute/v1/projects/${project()}/zones`, `/storage/v1/b/${emulator.bucket}/o`]) {
      const none = await fetch(`${emulator.endpoint}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = (await none.json()) as { error: { status: string; errors: { reason: string }[] } };
      expect(body.error.status).toBe('UNAUTHENTICATED');
      expect(body.error.errors[0]!.reason).toBe('required');
      const wrong = await fetch(`${emulator.endpoint}${path}`, {
        headers: { authorization: 'Bearer ya29.forged' },
      });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as typeof body).error.errors[0]!.reason).toBe('authError');
    }
  });

  it('takes a self-signed JWT of the key as the bearer (what google-auth-library sends without scopes)', async () => {
    const key = readKey(emulator.keyFile);
    const now = Math.floor(Date.now() / 1000);
    const jwt = assertion(
      key,
      { sub: key.client_email, aud: 'https://compute.googleapis.com/', scope: undefined },
      now,
    );
    const zones = await fetch(`${emulator.endpoint}/compute/v1/projects/${project()}/zones`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(zones.status).toBe(200);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const forged = assertion({ ...key, private_key: String(other) }, { sub: key.client_email }, now);
    const refused = await fetch(`${emulator.endpoint}/compute/v1/projects/${project()}/zones`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(refused.status).toBe(401);
  });
});

describe('instances', () => {
  it('lives as GCE instances do: insert, SSH at natIP with the ssh-keys key, stop/start/reset, metadata, labels, delete', async () => {
    const zone = emulator.zone;
    const op = await insert('kola-life', zone, {
      labels: { 'created-by': 'mantle', 'kola-run': 'r1' },
      metadata: {
        items: [
          { key: 'user-data', value: '{"ignition":{"version":"3.4.0"}}' },
          { key: 'ssh-keys', value: `core:${identity.publicKey}` },
        ],
      },
    });
    expect(op.error).toBeFalsy();
    expect(op.operationType).toBe('insert');
    let [instance] = await gce.instances.get({ project: project(), zone, instance: 'kola-life' });
    expect(instance.status).toBe('RUNNING');
    expect(instance.labels).toEqual({ 'created-by': 'mantle', 'kola-run': 'r1' });
    const items = (i: typeof instance) => i.metadata?.items?.map(({ key, value }) => ({ key, value }));
    expect(items(instance)).toEqual([
      { key: 'user-data', value: '{"ignition":{"version":"3.4.0"}}' },
      { key: 'ssh-keys', value: `core:${identity.publicKey}` },
    ]);
    const nic = instance.networkInterfaces![0]!;
    expect(nic.networkIP).toMatch(/^10\.128\.\d+\.\d+$/);
    const natIP = nic.accessConfigs![0]!.natIP!;
    expect(natIP).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(instance.disks![0]).toMatchObject({
      boot: true,
      autoDelete: true,
      source: expect.stringMatching(/\/disks\/kola-life$/),
    });
    const [disk] = await gce.disks.get({ project: project(), zone, disk: 'kola-life' });
    expect(disk.sourceImage).toMatch(new RegExp(`/global/images/${emulator.imageName}$`));
    expect(disk.users).toEqual([instance.selfLink]);
    await expect(gce.disks.delete({ project: project(), zone, disk: 'kola-life' })).rejects.toThrow(
      /already being used/,
    );

    expect(await run(natIP, 'echo hello from $USER')).toBe('hello from core\n');
    const bootId = await run(natIP, 'cat /proc/sys/kernel/random/boot_id');

    // stop: no natIP while TERMINATED, nothing answers; start: the same address again
    const [stopping] = await gce.instances.stop({ project: project(), zone, instance: 'kola-life' });
    expect((await done(stopping, zone)).error).toBeFalsy();
    [instance] = await gce.instances.get({ project: project(), zone, instance: 'kola-life' });
    expect(instance.status).toBe('TERMINATED');
    expect(instance.networkInterfaces![0]!.accessConfigs![0]!.natIP).toBeFalsy();
    expect(await login(natIP)).toMatch(/ECONNREFUSED/);
    await done((await gce.instances.start({ project: project(), zone, instance: 'kola-life' }))[0], zone);
    [instance] = await gce.instances.get({ project: project(), zone, instance: 'kola-life' });
    expect(instance.status).toBe('RUNNING');
    expect(instance.networkInterfaces![0]!.accessConfigs![0]!.natIP).toBe(natIP);
    expect(await login(natIP)).toBe('ok');
    await done((await gce.instances.reset({ project: project(), zone, instance: 'kola-life' }))[0], zone);
    expect(await run(natIP, 'cat /proc/sys/kernel/random/boot_id')).not.toBe(bootId);

    // setMetadata / setLabels: the fingerprint of what the caller last read, else 412
    await expect(
      gce.instances.setMetadata({
        project: project(),
        zone,
        instance: 'kola-life',
        metadataResource: { fingerprint: 'stale', items: [] },
      }),
    ).rejects.toThrow(/fingerprint/);
    expect(emulator.takeViolations()).toEqual([]);
    await done(
      (
        await gce.instances.setMetadata({
          project: project(),
          zone,
          instance: 'kola-life',
          metadataResource: {
            fingerprint: instance.metadata!.fingerprint!,
            items: [{ key: 'kola', value: 'yes' }],
          },
        })
      )[0],
      zone,
    );
    await done(
      (
        await gce.instances.setLabels({
          project: project(),
          zone,
          instance: 'kola-life',
          instancesSetLabelsRequestResource: {
            labelFingerprint: instance.labelFingerprint!,
            labels: { 'created-by': 'mantle' },
          },
        })
      )[0],
      zone,
    );
    [instance] = await gce.instances.get({ project: project(), zone, instance: 'kola-life' });
    expect(items(instance)).toEqual([{ key: 'kola', value: 'yes' }]);
    expect(instance.labels).toEqual({ 'created-by': 'mantle' });

    // delete: the instance, its auto-delete boot disk and its machine are gone
    const id = instance.id!;
    expect(emulator.backend.live()).toContain(String(id));
    expect((await remove('kola-life', zone)).error).toBeFalsy();
    await expect(
      gce.instances.get({ project: project(), zone, instance: 'kola-life' }),
    ).rejects.toMatchObject({ code: 404 });
    await expect(gce.disks.get({ project: project(), zone, disk: 'kola-life' })).rejects.toMatchObject({
      code: 404,
    });
    expect(emulator.backend.live()).not.toContain(String(id));
    expect(await login(natIP)).toMatch(/ECONNREFUSED/);
  });

  it('refuses what GCE refuses: a taken name (409), an unknown machine type or image, a bad name', async () => {
    const zone = 'us-central1-b';
    await insert('kola-dup', zone);
    await expect(
      gce.instances.insert({
        project: project(),
        zone,
        instanceResource: instanceResource('kola-dup', zone),
      }),
    ).rejects.toMatchObject({
      code: 409,
    });
    await expect(
      gce.instances.insert({
        project: project(),
        zone,
        instanceResource: {
          ...instanceResource('kola-mt', zone),
          machineType: `zones/${zone}/machineTypes/n9-huge`,
        },
      }),
    ).rejects.toThrow(/Machine type with name 'n9-huge' does not exist in zone 'us-central1-b'/);
    const noImage = instanceResource('kola-img', zone);
    noImage.disks![0]!.initializeParams!.sourceImage = 'global/images/nothing-here';
    await expect(
      gce.instances.insert({ project: project(), zone, instanceResource: noImage }),
    ).rejects.toMatchObject({ code: 404 });
    await expect(
      gce.instances.insert({
        project: project(),
        zone,
        instanceResource: instanceResource('Kola_Bad', zone),
      }),
    ).rejects.toMatchObject({
      code: 400,
    });
    // a body against the discovery document (a name that is not a string) is refused before any route runs
    const r = await api(`/compute/v1/projects/${project()}/zones/${zone}/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 7 }),
    });
    expect(r.status).toBe(400);
    expect(emulator.takeViolations().map((v) => v.kind)).toEqual(['request']);
    await remove('kola-dup', zone);
  });

  it('aggregatedList pages across zones (maxResults/pageToken), every instance once', async () => {
    const zones = ['us-central1-a', 'us-east1-b', 'europe-west1-d'];
    const names: string[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) => {
        const name = `kola-agg-${i}`;
        names.push(`${zones[i % 3]}/${name}`);
        return insert(name, zones[i % 3]!, { labels: { batch: 'agg' } });
      }),
    );
    emulator.requests.reset();
    const seen: string[] = [];
    for await (const [scope, list] of gce.instances.aggregatedListAsync({
      project: project(),
      maxResults: 3,
      filter: 'labels.batch = agg',
    }))
      for (const i of list.instances ?? []) seen.push(`${scope.replace('zones/', '')}/${i.name}`);
    expect(seen.sort()).toEqual(names.sort());
    expect(emulator.requests.counts().get('compute.instances.aggregatedList')).toBe(3);

    // one page by hand: every zone is a scope; the ones without instances here say so
    const page = await api(
      `/compute/v1/projects/${project()}/aggregated/instances?maxResults=3&filter=${encodeURIComponent('labels.batch = agg')}`,
    );
    const body = (await page.json()) as {
      items: Record<string, { instances?: unknown[]; warning?: { code: string } }>;
      nextPageToken?: string;
    };
    expect(Object.keys(body.items)).toHaveLength(12);
    expect(Object.values(body.items).reduce((n, s) => n + (s.instances?.length ?? 0), 0)).toBe(3);
    expect(body.items['zones/us-west1-a']!.warning!.code).toBe('NO_RESULTS_ON_PAGE');
    expect(body.nextPageToken).toBeTruthy();
    expect(emulator.instances().filter((n) => n.includes('kola-agg-'))).toHaveLength(7);
    await Promise.all(names.map((n) => remove(n.split('/')[1]!, n.split('/')[0]!)));
    expect(emulator.instances().filter((n) => n.includes('kola-agg-'))).toEqual([]);
  });

  it('serial port 1: start and next as GCE has them, nothing lost or repeated across reads', async () => {
    const zone = 'us-central1-c';
    await insert('kola-serial', zone);
    const read = async (start?: number) =>
      (
        await gce.instances.getSerialPortOutput({
          project: project(),
          zone,
          instance: 'kola-serial',
          port: 1,
          ...(start === undefined ? {} : { start }),
        })
      )[0];
    const first = await read();
    expect(first.start).toBe('0');
    expect(first.contents).toMatch(/booted/);
    expect(Number(first.next)).toBe(Buffer.byteLength(first.contents!));
    await done((await gce.instances.reset({ project: project(), zone, instance: 'kola-serial' }))[0], zone);
    const second = await read(Number(first.next));
    expect(second.start).toBe(first.next);
    expect(second.contents).toMatch(/powered off[\s\S]*booted/);
    expect(second.contents).not.toContain(first.contents);
    const all = await read(0);
    expect(`${first.contents}${second.contents}`).toBe(all.contents);
    expect(all.next).toBe(second.next);
    const tail = await read(-5);
    expect(tail.contents).toBe(all.contents!.slice(-5));
    expect(Number(tail.start)).toBe(Number(all.next) - 5);
    const beyond = await read(Number(all.next) + 100);
    expect(beyond.contents).toBe('');
    expect(beyond.next).toBe(String(Number(all.next) + 100));
    await remove('kola-serial', zone);
  });

  it('ends an insert over the CPU quota with QUOTA_EXCEEDED in its operation, and leaves nothing', async () => {
    const limited = await startGceEmulator({ machines: 'none', cpuQuota: 2, log: () => {} });
    const clients = gceClients(limited.endpoint, limited.project, await accessToken(limited.keyFile));
    try {
      const body = (name: string) => ({
        ...instanceResource(name, 'us-east1-c'),
        machineType: 'zones/us-east1-c/machineTypes/n1-standard-2',
      });
      const [a] = await clients.instances.insert({
        project: limited.project,
        zone: 'us-east1-c',
        instanceResource: body('kola-q1'),
      });
      const [b] = await clients.instances.insert({
        project: limited.project,
        zone: 'us-east1-c',
        instanceResource: body('kola-q2'),
      });
      const wait = async (lro: { latestResponse: unknown }) => {
        let op = lro.latestResponse as Operation;
        while (op.status !== 'DONE')
          [op] = await clients.zoneOperations.wait({
            project: limited.project,
            zone: 'us-east1-c',
            operation: op.name!,
          });
        return op;
      };
      expect((await wait(a)).error).toBeFalsy();
      const failed = await wait(b);
      expect(failed.error?.errors?.[0]).toMatchObject({ code: 'QUOTA_EXCEEDED' });
      expect(failed.httpErrorStatusCode).toBe(403);
      expect(limited.instances()).toEqual(['us-east1-c/kola-q1']);
      expectNoViolations(limited);
    } finally {
      await clients.close();
      await limited.stop();
    }
    expect(limited.backend.live()).toEqual([]);
  });
});

describe('images', () => {
  it('inserts an image from a sparse disk archive uploaded to the bucket; getFromFamily, list, delete', async () => {
    const archive = makeDiskArchive({ sizeBytes: 2 * 1024 ** 3, islands: 5 });
    const bucket = gce.storage.bucket(emulator.bucket);
    await bucket
      .file('images/kola-new.tar.gz')
      .save(archive, { resumable: true, chunkSize: 256 * 1024, contentType: 'application/gzip' });
    const [insert] = await gce.images.insert({
      project: project(),
      imageResource: {
        name: 'kola-new',
        family: 'kola-new-family',
        rawDisk: { source: `https://storage.googleapis.com/${emulator.bucket}/images/kola-new.tar.gz` },
        guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }],
        labels: { 'created-by': 'mantle' },
      },
    });
    const [pending] = await gce.images.get({ project: project(), image: 'kola-new' });
    expect(pending.status).toBe('PENDING');
    const op = await done(insert);
    expect(op.error).toBeFalsy();
    const [image] = await gce.images.get({ project: project(), image: 'kola-new' });
    expect(image).toMatchObject({
      status: 'READY',
      diskSizeGb: '2',
      archiveSizeBytes: String(archive.length),
      family: 'kola-new-family',
    });
    expect((await gce.images.getFromFamily({ project: project(), family: 'kola-new-family' }))[0].name).toBe(
      'kola-new',
    );
    const [listed] = await gce.images.list({ project: project(), filter: 'labels.created-by = mantle' });
    expect(listed.map((i) => i.name)).toEqual(['kola-new']);

    // an instance boots from it (the backend's machine is kola's test image whatever the image)
    await insert_('kola-from-new', 'us-west1-a', 'global/images/family/kola-new-family');
    const [disk] = await gce.disks.get({ project: project(), zone: 'us-west1-a', disk: 'kola-from-new' });
    expect(disk.sizeGb).toBe('2');
    await remove('kola-from-new', 'us-west1-a');

    expect(
      (await done((await gce.images.delete({ project: project(), image: 'kola-new' }))[0])).error,
    ).toBeFalsy();
    await expect(gce.images.get({ project: project(), image: 'kola-new' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('ends the operation with GCE errors for a bad archive, and keeps no image', async () => {
    const bucket = gce.storage.bucket(emulator.bucket);
    const cases: [string, Buffer | undefined, string, RegExp][] = [
      [
        'bad-name',
        makeDiskArchive({ name: 'output.img' }),
        'INVALID_IMAGE_TAR',
        /named 'output.img'. It should be named 'disk.raw'/,
      ],
      ['bad-gzip', randomBytes(4096), 'INVALID_IMAGE_TAR', /The tar archive is not a valid image/],
      ['bad-pax', makeDiskArchive({ format: 'posix' }), 'INVALID_IMAGE_TAR', /not a valid image/],
      [
        'bad-size',
        makeDiskArchive({ sizeBytes: 1024 ** 3 - 4096 }),
        'INVALID_IMAGE_FILE',
        /multiple of 1 GB/,
      ],
      ['bad-missing', undefined, 'RESOURCE_NOT_FOUND', /was not found/],
    ];
    for (const [name, data, code, message] of cases) {
      if (data) await bucket.file(`bad/${name}.tar.gz`).save(data, { resumable: false });
      const [lro] = await gce.images.insert({
        project: project(),
        imageResource: {
          name,
          rawDisk: { source: `https://storage.googleapis.com/${emulator.bucket}/bad/${name}.tar.gz` },
        },
      });
      const op = await done(lro);
      expect(op.error?.errors?.[0]?.code, name).toBe(code);
      expect(op.error?.errors?.[0]?.message, name).toMatch(message);
      await expect(gce.images.get({ project: project(), image: name })).rejects.toMatchObject({ code: 404 });
    }
  });
});

async function insert_(name: string, zone: string, sourceImage: string) {
  const resource = instanceResource(name, zone);
  resource.disks![0]!.initializeParams!.sourceImage = sourceImage;
  const [lro] = await gce.instances.insert({ project: project(), zone, instanceResource: resource });
  const op = await done(lro, zone);
  expect(op.error).toBeFalsy();
}

const crc32cOf = (data: Buffer) => {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
};

describe('Cloud Storage', () => {
  it('multipart upload: real CRC32C and MD5, validated downloads, Range, list by prefix and page, delete', async () => {
    const bucket = gce.storage.bucket(emulator.bucket);
    const data = randomBytes(200_001);
    await bucket
      .file('mp/a.bin')
      .save(data, { resumable: false, validation: 'crc32c', metadata: { metadata: { kola: 'yes' } } });
    const [meta] = await bucket.file('mp/a.bin').getMetadata();
    expect(meta.crc32c).toBe(crc32cOf(data));
    expect(meta.md5Hash).toBe(createHash('md5').update(data).digest('base64'));
    expect(meta.size).toBe('200001');
    expect(meta.metadata).toEqual({ kola: 'yes' });
    const [downloaded] = await bucket.file('mp/a.bin').download({ validation: 'crc32c' });
    expect(downloaded.equals(data)).toBe(true);
    const [part] = await bucket.file('mp/a.bin').download({ start: 1000, end: 1999 });
    expect(part.equals(data.subarray(1000, 2000))).toBe(true);

    for (const n of [1, 2, 3, 4])
      await bucket.file(`mp/more/${n}`).save(Buffer.from(`${n}`), { resumable: false });
    const [first, next] = await bucket.getFiles({ prefix: 'mp/more/', maxResults: 3, autoPaginate: false });
    expect(first.map((f) => f.name)).toEqual(['mp/more/1', 'mp/more/2', 'mp/more/3']);
    const [rest] = await bucket.getFiles({ ...(next as object), autoPaginate: false });
    expect(rest.map((f) => f.name)).toEqual(['mp/more/4']);
    const [all] = await bucket.getFiles({ prefix: 'mp/' });
    expect(all).toHaveLength(5);

    await bucket.file('mp/a.bin').delete();
    await expect(bucket.file('mp/a.bin').getMetadata()).rejects.toMatchObject({ code: 404 });
  });

  it('refuses an upload whose crc32c (metadata or x-goog-hash) is not the data', async () => {
    const bucket = gce.storage.bucket(emulator.bucket);
    await expect(
      bucket.file('mp/wrong.bin').save(Buffer.from('some data'), {
        resumable: false,
        validation: false,
        metadata: { crc32c: 'AAAAAA==' },
      }),
    ).rejects.toThrow(/Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C/);
    const media = await api(
      `/upload/storage/v1/b/${emulator.bucket}/o?uploadType=media&name=mp%2Fwrong2.bin`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          'x-goog-hash': `crc32c=${crc32cOf(Buffer.from('other'))}`,
        },
        body: 'some data',
      },
    );
    expect(media.status).toBe(400);
    await expect(bucket.file('mp/wrong.bin').getMetadata()).rejects.toMatchObject({ code: 404 });
    await expect(bucket.file('mp/wrong2.bin').getMetadata()).rejects.toMatchObject({ code: 404 });
  });

  it('resumable upload: interrupted mid-chunk, the session keeps whole 256 KiB units, the SDK resumes it', async () => {
    const unit = 256 * 1024;
    const data = randomBytes(5 * unit + 1234);
    const file = gce.storage.bucket(emulator.bucket).file('resumable/big.bin');
    const [uri] = await file.createResumableUpload({ metadata: { contentType: 'application/octet-stream' } });
    const session = new URL(uri);
    expect(session.pathname).toBe(`/upload/storage/v1/b/${emulator.bucket}/o`);
    expect(session.searchParams.get('upload_id')).toBeTruthy();

    // a chunk of 3 units whose connection dies after 2.5 of them
    await new Promise<void>((resolve) => {
      const put = request(session, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-range': `bytes 0-${3 * unit - 1}/*`,
          'content-length': String(3 * unit),
        },
      });
      put.on('error', () => resolve());
      put.write(data.subarray(0, 2.5 * unit), () => setTimeout(() => put.destroy(), 100));
    });
    const status = async () => {
      const r = await fetch(uri, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-range': 'bytes */*' },
      });
      return { status: r.status, range: r.headers.get('range') };
    };
    for (let i = 0; i < 50 && (await status()).range === null; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await status()).toEqual({ status: 308, range: `bytes=0-${2 * unit - 1}` });

    // the SDK asks the session where it is (bytes */*) and sends the rest from there
    await new Promise<void>((resolve, reject) => {
      const stream = file.createWriteStream({ uri, resumable: true, chunkSize: unit, validation: 'crc32c' });
      stream.on('error', reject).on('finish', resolve);
      stream.end(data);
    });
    const [meta] = await file.getMetadata();
    expect(meta.size).toBe(String(data.length));
    expect(meta.crc32c).toBe(crc32cOf(data));
    const [back] = await file.download();
    expect(back.equals(data)).toBe(true);
    expect((await status()).status).toBe(200); // a finished session answers with the object

    // single-request mode (no chunkSize): one PUT of bytes 0-*/*, finished when its body ends
    emulator.requests.reset();
    const single = gce.storage.bucket(emulator.bucket).file('resumable/single.bin');
    await single.save(data, { resumable: true, validation: 'crc32c' });
    expect((await single.getMetadata())[0].crc32c).toBe(crc32cOf(data));
    expect(emulator.requests.counts().get('storage.objects.insert.resumableChunk')).toBe(1);
  });

  it('resumable protocol: chunks below 256 KiB refused, the rest rounded down, a wrong final hash refused, cancel', async () => {
    const unit = 256 * 1024;
    const start = async (name: string) => {
      const r = await api(`/upload/storage/v1/b/${emulator.bucket}/o?uploadType=resumable&name=${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: JSON.stringify({ contentType: 'text/plain' }),
      });
      expect(r.status).toBe(200);
      return r.headers.get('location')!;
    };
    const put = (uri: string, range: string, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(uri, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-range': range, ...headers },
        body,
      });

    const uri = await start('proto.txt');
    const data = randomBytes(2 * unit + 10);
    expect((await put(uri, 'bytes 0-99/*', data.subarray(0, 100))).status).toBe(400);
    const partial = await put(uri, `bytes 0-${unit + 99}/*`, data.subarray(0, unit + 100));
    expect(partial.status).toBe(308);
    expect(partial.headers.get('range')).toBe(`bytes=0-${unit - 1}`);
    // an offset past what the session has is refused; resending what it has is fine
    expect(
      (await put(uri, `bytes ${unit + 100}-${2 * unit + 9}/${data.length}`, data.subarray(unit + 100)))
        .status,
    ).toBe(400);
    const wrong = await put(uri, `bytes ${unit}-${data.length - 1}/${data.length}`, data.subarray(unit), {
      'x-goog-hash': `crc32c=${crc32cOf(Buffer.from('nope'))}`,
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(
      /doesn't match calculated CRC32C/,
    );
    await expect(gce.storage.bucket(emulator.bucket).file('proto.txt').getMetadata()).rejects.toMatchObject({
      code: 404,
    });

    const again = await start('proto.txt');
    const ok = await put(again, `bytes 0-${data.length - 1}/${data.length}`, data, {
      'x-goog-hash': `crc32c=${crc32cOf(data)},md5=${createHash('md5').update(data).digest('base64')}`,
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { contentType: string; crc32c: string }).crc32c).toBe(crc32cOf(data));

    const cancelled = await start('cancelled.txt');
    expect(
      (await fetch(cancelled, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(499);
    expect((await put(cancelled, 'bytes */*', Buffer.alloc(0))).status).toBe(404);
  });
});

describe('faults', () => {
  it("answers injected faults in Google's shapes: 429 rateLimitExceeded, 500/503 backendError", async () => {
    const faulty = await startGceEmulator({
      machines: 'none',
      faults: { rate: 1, seed: 3, kinds: ['throttle', 'server-error'] },
      log: () => {},
    });
    try {
      // credentials are checked before any fault, as Google checks them first
      const unauthenticated = await fetch(`${faulty.endpoint}/compute/v1/projects/${faulty.project}/zones`, {
        headers: { authorization: 'Bearer whatever' },
      });
      expect(unauthenticated.status).toBe(401);
      // the token endpoint is faulted as any call (every one here: rate 1)
      const key = readKey(faulty.keyFile);
      const statuses = new Map<
        number,
        { error: { status: string; errors: { reason: string; domain: string }[] } }
      >();
      for (let i = 0; i < 16; i++) {
        const r = await grant(key.token_uri, assertion(key));
        statuses.set(r.status, r.body as never);
      }
      expect(statuses.get(429)?.error).toMatchObject({
        status: 'RESOURCE_EXHAUSTED',
        errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits' }],
      });
      const serverError = statuses.get(500) ?? statuses.get(503);
      expect(serverError?.error.errors[0]?.reason).toBe('backendError');
      expect(faulty.faultsInjected().get('throttle')).toBeGreaterThan(0);
      expectNoViolations(faulty);
    } finally {
      await faulty.stop();
    }
  });

  it('the SDK sees a throttled call as code 429', async () => {
    const faulty = await startGceEmulator({
      machines: 'none',
      faults: { rate: 1, seed: 1, kinds: ['throttle'], operations: ['compute.zones.list'] },
      log: () => {},
    });
    const clients = gceClients(faulty.endpoint, faulty.project, await accessToken(faulty.keyFile));
    try {
      await expect(clients.zones.list({ project: faulty.project }, { retry: null })).rejects.toMatchObject({
        code: 429,
      });
      expect((await clients.images.list({ project: faulty.project }))[0].map((i) => i.name)).toEqual([
        'kola-test-image-minimal',
      ]);
    } finally {
      await clients.close();
      await faulty.stop();
    }
  });
});

describe('stop', () => {
  it('leaves nothing: no machine, no instance, no key file, no stored object', async () => {
    await insert('kola-left', 'us-central1-f');
    expect(emulator.backend.live()).toHaveLength(1);
    const dir = dirname(emulator.keyFile);
    await gce.close();
    await emulator.stop();
    expect(emulator.backend.live()).toEqual([]);
    expect(existsSync(emulator.keyFile)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await expect(fetch(`${emulator.endpoint}/token`, { method: 'POST' })).rejects.toThrow();
  });
});
