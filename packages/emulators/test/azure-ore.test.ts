import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AzureEmulator, startAzureEmulator } from '../src/azure/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { ore } from './support/ore-process.js';

// Every `ore azure` verb as a real `ore` process against the Azure emulator (ARM fake over HTTPS,
// its token endpoint, azurite). Every ARM request and answer is checked against Microsoft's Swagger.

let azure: AzureEmulator;
let dir: string;
let home: string;
let authFile: string;
const emulatorLog: string[] = [];
const mib = 1024 * 1024;

beforeAll(async () => {
  azure = await startAzureEmulator({
    machines: 'none',
    log: (l) => emulatorLog.push(l),
    timing: { groupsPerPage: 100 },
  });
  dir = mkdtempSync(join(tmpdir(), 'azure-ore-'));
  home = join(dir, 'home');
  mkdirSync(home);
  authFile = await azure.writeAuthFile(dir);
  azure.state.seedGroup('kola', {});
  azure.state.seedResource('kola', 'Microsoft.Storage/storageAccounts', 'kola', {
    extra: { kind: 'StorageV2' },
  });
});
afterAll(async () => {
  await azure?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => expectNoViolations(azure));

/** `ore azure …` as an operator runs it: the auth file by flag, HOME empty, the test CA trusted. */
function oreAzure(args: string[], env: Record<string, string> = {}) {
  return ore(['azure', ...args, ...azure.ore, '--azure-auth', authFile], {
    HOME: home,
    NODE_EXTRA_CA_CERTS: azure.certificate.certFile,
    ...env,
  });
}

function blobClient() {
  const key = azure.storageKeys.find((k) => k.name === 'kola')!;
  return new BlobServiceClient(
    azure.azurite!.blobUrl('kola'),
    new StorageSharedKeyCredential('kola', key.key),
  );
}

/** A sparse raw disk: `bytes` long, data only in the listed MiB-sized extents. */
function sparseDisk(path: string, bytes: number, extents: number[]): Buffer {
  const fd = openSync(path, 'w');
  const content = Buffer.alloc(bytes);
  for (const at of extents)
    for (let i = 0; i < mib && at + i < bytes; i++) content[at + i] = (i * 7 + at) % 251 || 1;
  writeSync(fd, content);
  closeSync(fd);
  return content;
}

async function blobBytes(name: string): Promise<Buffer> {
  return blobClient().getContainerClient('vhds').getBlobClient(name).downloadToBuffer();
}

describe('ore azure (process) on the emulator', () => {
  it('upload-blob: a raw disk becomes a fixed VHD, only non-zero pages are sent, each MD5-checked', async () => {
    const file = join(dir, 'disk.raw');
    // 5 MiB + 100 bytes: rounded to 6 MiB; data in two extents
    const content = sparseDisk(file, 5 * mib + 100, [mib, 3.5 * mib]);
    const got = await oreAzure(['upload-blob', '--file', file, '--blob-name', 'disk.vhd']);
    expect(got.code, got.stderr).toBe(0);
    const { URL } = JSON.parse(got.stdout) as { URL: string };
    expect(URL).toBe(`${azure.azurite!.blobUrl('kola')}/vhds/disk.vhd`);
    const written = await blobBytes('disk.vhd');
    expect(written.length).toBe(6 * mib + 512);
    expect(written.subarray(0, content.length).equals(content)).toBe(true);
    expect(written.subarray(content.length, 6 * mib).every((b) => b === 0)).toBe(true);
    const footer = written.subarray(6 * mib);
    expect(footer.toString('ascii', 0, 8)).toBe('conectix');
    expect(Number(footer.readBigUInt64BE(48))).toBe(6 * mib);
    // two data extents of 1 MiB (the second crosses a 4 MiB write boundary) plus the footer
    expect(got.stderr).toMatch(/raw disk, 4 page writes, 2097664 bytes sent, 0 already there/);
    const ranges = await blobClient()
      .getContainerClient('vhds')
      .getPageBlobClient('disk.vhd')
      .getPageRanges();
    // the blob holds the two extents and the footer (azurite may split a range where two writes meet)
    const merged: Array<[number, number]> = [];
    for (const r of ranges.pageRange ?? []) {
      const last = merged.at(-1);
      // count is end − start of an inclusive end
      if (last && last[1] === r.offset) last[1] = r.offset + (r.count ?? 0) + 1;
      else merged.push([r.offset, r.offset + (r.count ?? 0) + 1]);
    }
    expect(merged).toEqual([
      [mib, 2 * mib],
      [3.5 * mib, 4.5 * mib],
      [6 * mib, 6 * mib + 512],
    ]);
  });

  it('upload-blob resumes from the ranges already there and refuses a blob of another size', async () => {
    const file = join(dir, 'resume.raw');
    const content = sparseDisk(file, 8 * mib, [0, 3 * mib, 6 * mib]);
    // an interrupted upload: the blob made, the first extent written, no footer
    const blob = blobClient().getContainerClient('vhds').getPageBlobClient('resume.vhd');
    await blob.create(8 * mib + 512);
    await blob.uploadPages(content.subarray(0, mib), 0, mib);
    const got = await oreAzure(['upload-blob', '--file', file]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stderr).toMatch(/resuming vhds\/resume\.vhd: 1 ranges already there/);
    expect(got.stderr).toMatch(/3 page writes, 2097664 bytes sent, 1048576 already there/);
    expect((await blobBytes('resume.vhd')).subarray(0, 8 * mib).equals(content)).toBe(true);

    writeFileSync(file, Buffer.alloc(2 * mib, 1));
    const refused = await oreAzure(['upload-blob', '--file', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(
      /vhds\/resume\.vhd: a blob of 8389120 bytes is there, this disk makes 2097664; pass --overwrite to replace it$/,
    );
    const replaced = await oreAzure(['upload-blob', '--file', file, '--overwrite']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect((await blobBytes('resume.vhd')).length).toBe(2 * mib + 512);
  });

  it('upload-blob --validate checks a VHD footer; a VHD is sent as it is', async () => {
    const good = join(dir, 'good.vhd');
    const raw = await blobBytes('disk.vhd');
    writeFileSync(good, raw);
    const ok = await oreAzure(['upload-blob', '--file', good]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/vhd disk/);
    expect(
      createHash('sha256')
        .update(await blobBytes('good.vhd'))
        .digest('hex'),
    ).toBe(createHash('sha256').update(readFileSync(good)).digest('hex'));
    const bad = join(dir, 'bad.vhd');
    const corrupt = Buffer.from(raw);
    corrupt[corrupt.length - 512 + 100] = 9;
    writeFileSync(bad, corrupt);
    const refused = await oreAzure(['upload-blob', '--file', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n').at(-1)).toMatch(
      /--file \S+bad\.vhd: the VHD footer checksum is wrong$/,
    );
  });

  it('create-image, list-images and delete-image (the -arm aliases too)', async () => {
    const made = await oreAzure([
      'create-image-arm',
      '--image-name',
      'kola-img',
      '--image-blob',
      `${azure.azurite!.blobUrl('kola')}/vhds/disk.vhd`,
      '--expires-in',
      '1d',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const result = JSON.parse(made.stdout) as { ID: string; Location: string };
    expect(result).toEqual({
      ID: `/subscriptions/${azure.subscriptionId}/resourceGroups/kola/providers/Microsoft.Compute/images/kola-img`,
      Location: 'westus',
    });
    const image = azure.state.find(result.ID)!;
    expect(image.tags.createdBy).toBe('mantle');
    expect(Date.parse(image.tags['expires-at']!) - Date.now()).toBeGreaterThan(23 * 3600_000);

    const listed = await oreAzure(['list-images', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: result.ID, name: 'kola-img', ore: true, state: 'Succeeded' }),
    ]);

    const deleted = await oreAzure(['delete-image', '--image-name', 'kola-img']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(azure.state.find(result.ID)).toBeUndefined();
    const again = await oreAzure(['delete-image', '--image-name', 'kola-img']);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(
      /--image-name kola-img: no image of that name in resource group kola$/,
    );
  });

  it('bad credentials files: one line naming the file and field, exit 2', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ clientId: 'x', subscriptionId: 'y', tenantId: 'z' }));
    const got = await ore(['azure', 'list-images', ...azure.ore, '--azure-auth', broken], { HOME: home });
    expect(got.code).toBe(2);
    const lines = got.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/broken\.json: field "clientSecret": missing$/);
    expect(got.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('ore azure gc on a generated mix, over several pages', () => {
  it('plans, then removes exactly the old groups tagged createdBy=mantle and expired images', async () => {
    const old = '2020-01-01T00:00:00Z';
    const young = new Date().toISOString();
    const expectRemove: string[] = [];
    const expectKeep: Record<string, string> = {};
    // 230 groups at 100 a page: 3 pages; the candidates are spread over all of them
    for (let i = 0; i < 200; i++) {
      const name = `kola-filler-${String(i).padStart(3, '0')}`;
      azure.state.seedGroup(name, { createdBy: 'mantle', createdAt: young });
      expectKeep[name] = 'younger';
    }
    const mix: Array<[string, Record<string, string>, 'remove' | string, { locked?: boolean }?]> = [
      ['old-mantle-1', { createdBy: 'mantle', createdAt: old }, 'remove'],
      ['old-mantle-2', { createdBy: 'mantle', createdAt: old, kolaRun: 'r1' }, 'remove'],
      ['old-untagged', {}, 'not created by this tool'],
      ['old-someone', { createdBy: 'terraform', createdAt: old }, 'not created by this tool'],
      ['old-no-date', { createdBy: 'mantle' }, 'creation time unknown'],
      ['old-bad-date', { createdBy: 'mantle', createdAt: 'yesterday' }, 'creation time unknown'],
      [
        'old-protected',
        { createdBy: 'mantle', createdAt: old, 'keep-until': '2999-01-01T00:00:00Z' },
        'keep-until',
      ],
      ['young-mantle', { createdBy: 'mantle', createdAt: young }, 'younger'],
    ];
    for (const [name, tags, outcome, opts] of mix) {
      azure.state.seedGroup(name, tags, opts);
      if (outcome === 'remove') expectRemove.push(name);
      else expectKeep[name] = outcome;
    }
    for (let i = 0; i < 22; i++) azure.state.seedGroup(`zz-other-${i}`, {});
    // images: one expired in a group that stays, one not expiring, one in a group that goes
    azure.state.seedGroup('images', {});
    const expired = azure.state.seedResource('images', 'Microsoft.Compute/images', 'expired', {
      tags: { createdBy: 'mantle', 'expires-at': '2021-01-01T00:00:00Z' },
      properties: {
        storageProfile: { osDisk: { osType: 'Linux', osState: 'Generalized', blobUri: 'https://x/y.vhd' } },
      },
    });
    const release = azure.state.seedResource('images', 'Microsoft.Compute/images', 'release', {
      tags: { createdBy: 'mantle' },
      properties: {
        storageProfile: { osDisk: { osType: 'Linux', osState: 'Generalized', blobUri: 'https://x/z.vhd' } },
      },
    });
    const before = [...azure.state.groups.keys()].sort();
    const listsBefore = azure.api.requests.counts().get('ResourceGroups_List') ?? 0;

    type Outcome = {
      report: { results: Array<{ resource: { kind: string; id: string }; action: string; reason: string }> };
    };
    const ids = (o: Outcome, kind: string, action: string) =>
      o.report.results
        .filter((r) => r.resource.kind === kind && r.action === action)
        .map((r) => r.resource.id)
        .sort();

    const plan = await oreAzure(['gc', '--older-than', '1h', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout) as Outcome;
    expect(ids(planned, 'azure.resource-group', 'would-remove')).toEqual(expectRemove.sort());
    expect(ids(planned, 'azure.image', 'would-remove')).toEqual([expired.id]);
    expect(ids(planned, 'azure.image', 'kept')).toEqual([release.id]);
    for (const [name, reason] of Object.entries(expectKeep)) {
      const found = planned.report.results.find((r) => r.resource.id === name);
      expect(found?.action, name).toBe('kept');
      expect(found?.reason, name).toContain(reason);
    }
    // every page was read, and a plan deletes nothing
    expect((azure.api.requests.counts().get('ResourceGroups_List') ?? 0) - listsBefore).toBe(3);
    expect([...azure.state.groups.keys()].sort()).toEqual(before);

    const applied = await oreAzure(['gc', '--older-than', '1h', '--apply', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const done = JSON.parse(applied.stdout) as Outcome;
    expect(ids(done, 'azure.resource-group', 'removed')).toEqual(expectRemove.sort());
    expect(ids(done, 'azure.image', 'removed')).toEqual([expired.id]);
    // the deletes were accepted: the groups are Deleting (ARM finishes them as clients poll)
    for (const name of expectRemove) expect(azure.state.groups.get(name)?.state).toBe('Deleting');
    for (const name of Object.keys(expectKeep))
      expect(azure.state.groups.get(name.toLowerCase())?.state, name).toBe('Succeeded');
  });
});

describe('ore azure gc of blobs ore uploaded', () => {
  it('removes only expired blobs with the createdBy=mantle metadata, never a leased or foreign one', async () => {
    const container = blobClient().getContainerClient('gcmix');
    await container.createIfNotExists();
    const old = '2021-01-01T00:00:00Z';
    const later = '2999-01-01T00:00:00Z';
    const mix: Array<[string, Record<string, string>, string]> = [
      ['expired.vhd', { createdBy: 'mantle', createdAt: old, expiresAt: old }, 'remove'],
      ['young.vhd', { createdBy: 'mantle', createdAt: old, expiresAt: later }, 'expires at'],
      ['release.vhd', { createdBy: 'mantle', createdAt: old }, 'collected only when it expires'],
      ['foreign.vhd', { createdAt: old, expiresAt: old }, 'not created by this tool'],
      ['leased.vhd', { createdBy: 'mantle', createdAt: old, expiresAt: old }, 'leased'],
    ];
    for (const [name, metadata] of mix) await container.getPageBlobClient(name).create(512, { metadata });
    await container.getBlobClient('leased.vhd').getBlobLeaseClient().acquireLease(-1);
    const id = (name: string) => `kola/gcmix/${name}`;
    type Outcome = {
      report: { results: Array<{ resource: { kind: string; id: string }; action: string; reason: string }> };
    };
    const ofMix = (o: Outcome) =>
      Object.fromEntries(
        o.report.results
          .filter((r) => r.resource.kind === 'azure.blob' && r.resource.id.startsWith('kola/gcmix/'))
          .map((r) => [r.resource.id, r]),
      );
    const names = async () => {
      const got: string[] = [];
      for await (const b of container.listBlobsFlat()) got.push(b.name);
      return got.sort();
    };
    const before = await names();

    const plan = await oreAzure(['gc', '--older-than', '1h', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = ofMix(JSON.parse(plan.stdout) as Outcome);
    for (const [name, , outcome] of mix) {
      const r = planned[id(name)];
      if (outcome === 'remove') expect(r?.action, name).toBe('would-remove');
      else {
        expect(r?.action, name).toBe('kept');
        expect(r?.reason, name).toContain(outcome);
      }
    }
    expect(await names()).toEqual(before);

    const applied = await oreAzure(['gc', '--older-than', '1h', '--apply', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    const done = ofMix(JSON.parse(applied.stdout) as Outcome);
    expect(done[id('expired.vhd')]?.action).toBe('removed');
    expect(await names()).toEqual(before.filter((n) => n !== 'expired.vhd'));
  });
});
