import { generateEd25519KeyPair } from '@mantle/cluster';
import { type DoClient, sshKeyFingerprint } from '@mantle/platform-api-do';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { clientOf, objectKeys, oreDo, putObject, rawDisk, serveBody } from './support/do-ore.js';

// `ore do gc` as a process on a generated mix, planned then applied: exactly the candidates go.
// Ages are real (the emulator stamps resources with the clock): an old batch, a pause, a young batch,
// and gc's clock (ORE_TEST_NOW) set just after the young batch, with --older-than 3s.

let emulator: DoEmulator;
let client: DoClient;
const signal = () => AbortSignal.timeout(10_000);

beforeAll(async () => {
  emulator = await startDoEmulator({
    machines: 'none',
    timing: { bootMs: 50, actionMs: 50, importMs: 50 },
    log: () => {},
  });
  client = clientOf(emulator);
});
afterAll(() => emulator?.stop());
afterEach(() => expectNoViolations(emulator));

async function droplet(name: string, tags: string[]): Promise<string> {
  const d = await client.createDroplet(
    { name, region: 'sfo2', size: 's-1vcpu-1gb', image: emulator.imageId, sshKeys: [], tags },
    'unused',
    signal(),
  );
  return String(d.id);
}
async function key(name: string): Promise<string> {
  const pub = generateEd25519KeyPair(name).public.trim();
  return String((await client.createSshKey(name, pub, sshKeyFingerprint(pub), signal())).id);
}

type Outcome = {
  report: { results: Array<{ resource: { kind: string; id: string }; action: string; reason: string }> };
};
const byKind = (o: Outcome, action: string) => {
  const out: Record<string, string[]> = {};
  for (const r of o.report.results) {
    if (r.action !== action) continue;
    out[r.resource.kind] = [...(out[r.resource.kind] ?? []), r.resource.id];
  }
  for (const ids of Object.values(out)) ids.sort();
  return out;
};
const sorted = (ids: string[]) => [...ids].sort();

describe('ore do gc on the emulator', () => {
  it('plans, then removes exactly the old tagged droplets, unused kola keys, expired images and staged leftovers', async () => {
    const served = await serveBody(rawDisk(64 * 1024));
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    // the old batch
    const dOld = await droplet('old-mantle', ['mantle', 'kola-run:kola-aaaa']);
    const dUntagged = await droplet('old-untagged', []);
    const dKept = await droplet('old-keep', ['mantle', 'keep-until:2999-01-01T00:00:00Z']);
    const kUsedByOld = await key(`kola-aaaa-t${hourAgo}`);
    const kUsedByYoung = await key(`kola-bbbb-t${hourAgo}`);
    const kUnused = await key(`kola-cccc-t${hourAgo}`);
    const kLegacy = await key('kola-6f1c2d8e-1111-2222-3333-444455556666');
    const kLaptop = await key('laptop');
    const image = async (name: string, tags: string[]) =>
      String(
        (
          await client.createCustomImage(
            { name, url: served.url('/images/x.raw'), region: 'sfo2', tags },
            signal(),
          )
        ).id,
      );
    const iExpired = await image('expired', ['mantle', 'expires-at:2020-01-01T00:00:00Z']);
    const iFuture = await image('future', ['mantle', 'expires-at:2999-01-01T00:00:00Z']);
    const iNoExpiry = await image('release', ['mantle']);
    const iNotOurs = await image('someone', ['expires-at:2020-01-01T00:00:00Z']);
    await putObject(emulator, 'mantle-staging/old-1/disk.raw', 'left by a killed run');
    await putObject(emulator, 'other/keep.txt', 'not ore’s');
    const oldDone = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, oldDone + 3500 - Date.now())));
    // the young batch
    const youngFrom = Date.now();
    const dYoung = await droplet('young-mantle', ['mantle', 'kola-run:kola-bbbb']);
    const dExpired = await droplet('young-expired', ['mantle', 'expires-at:2020-01-01T00:00:00Z']);
    const kYoung = await key(`kola-dddd-t${Math.floor(youngFrom / 1000) + 1}`);
    await putObject(emulator, 'mantle-staging/young/disk.raw', 'a run that is still going');
    await served.close();
    const env = { ORE_TEST_NOW: new Date(youngFrom + 1000).toISOString() };

    const plan = await oreDo(emulator, ['gc', '--older-than', '3s', '--json'], env);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout) as Outcome;
    const wouldRemove = {
      'do.droplet': sorted([dOld, dExpired]),
      'do.ssh-key': sorted([kUsedByOld, kUnused]),
      'do.image': [iExpired],
      'do.spaces-object': [`${emulator.spaces.bucket}/mantle-staging/old-1/disk.raw`],
    };
    expect(byKind(planned, 'would-remove')).toEqual(wouldRemove);
    expect(byKind(planned, 'kept')).toEqual({
      'do.droplet': sorted([dKept, dYoung]),
      'do.ssh-key': sorted([kUsedByYoung, kLegacy, kYoung]),
      'do.image': sorted([iFuture, iNoExpiry]),
      'do.spaces-object': [`${emulator.spaces.bucket}/mantle-staging/young/disk.raw`],
    });
    const reason = (id: string) => planned.report.results.find((r) => r.resource.id === id)?.reason;
    expect(reason(kUsedByYoung)).toBe(`used by droplet ${dYoung}, which stays`);
    expect(reason(kLegacy)).toBe('creation time unknown');
    expect(reason(dKept)).toBe('keep-until 2999-01-01T00:00:00.000Z');
    expect(reason(iNoExpiry)).toBe('no expires-at tag (collected only when it expires)');
    // never listed: untagged droplets, other people's keys and images, objects outside the prefix
    const listed = new Set(planned.report.results.map((r) => r.resource.id));
    for (const id of [dUntagged, kLaptop, iNotOurs, String(emulator.imageId)])
      expect(listed.has(id)).toBe(false);
    // a plan deletes nothing
    expect(sorted(emulator.droplets().map(String))).toEqual(
      sorted([dOld, dUntagged, dKept, dYoung, dExpired]),
    );

    const applied = await oreDo(emulator, ['gc', '--older-than', '3s', '--apply', '--json'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(byKind(JSON.parse(applied.stdout) as Outcome, 'removed')).toEqual(wouldRemove);
    expect(sorted(emulator.droplets().map(String))).toEqual(sorted([dUntagged, dKept, dYoung]));
    expect(sorted((await client.sshKeys(signal())).map((k) => String(k.id)))).toEqual(
      sorted([kUsedByYoung, kLegacy, kLaptop, kYoung]),
    );
    const images = (await client.userImages(signal())).map((i) => String(i.id));
    expect(images).not.toContain(iExpired);
    expect(images).toEqual(expect.arrayContaining([iFuture, iNoExpiry, iNotOurs, String(emulator.imageId)]));
    expect(await objectKeys(emulator)).toEqual(['mantle-staging/young/disk.raw', 'other/keep.txt']);

    // the text form says whose account it is, first
    const text = await oreDo(emulator, ['gc', '--older-than', '3s'], env);
    expect(text.stdout.split('\n')[0]).toMatch(/^do: account \S+, email \S+@\S+$/);
  });
});
