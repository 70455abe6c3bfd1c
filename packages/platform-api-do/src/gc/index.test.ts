import { runGc, silentLogger } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import type { DoClient } from '../api/client.js';
import type { Droplet, SshKey } from '../api/schemas.js';
import { ownerTag } from '../tags.js';
import { doGcKinds } from './index.js';

// The gc kinds' own rules on a client stub: what the emulator cannot make (a droplet in `archive`)
// and a removal that fails.

const now = new Date('2026-06-01T12:00:00Z');
const old = '2026-06-01T00:00:00Z';
const stamp = Math.floor(Date.parse(old) / 1000);

function stub(droplets: Droplet[], keys: SshKey[], failDelete = new Set<number>()) {
  const deleted: string[] = [];
  const client = {
    dropletsByTag: async () => droplets,
    sshKeys: async () => keys,
    userImages: async () => [],
    deleteDroplet: async (id: number) => {
      if (failDelete.has(id)) throw new Error('do droplets_destroy: boom');
      deleted.push(`droplet ${id}`);
    },
    deleteSshKey: async (id: number) => {
      deleted.push(`key ${id}`);
    },
  } as unknown as DoClient;
  return { client, deleted };
}

const droplet = (id: number, status: string, run: string): Droplet => ({
  id,
  name: `d${id}`,
  status,
  created_at: old,
  tags: [ownerTag, `kola-run:${run}`],
});

const sweep = (client: DoClient, apply: boolean) =>
  runGc({
    kinds: doGcKinds(client),
    ownerTag: { key: ownerTag },
    locations: ['all regions'],
    apply,
    olderThanMs: 5 * 3600_000,
    signal: AbortSignal.timeout(5000),
    log: silentLogger(),
    now,
  });
const outcome = (r: Awaited<ReturnType<typeof sweep>>) =>
  Object.fromEntries(
    r.results.map((x) => [`${x.resource.kind} ${x.resource.id}`, `${x.action}: ${x.reason}`]),
  );

describe('do gc kinds', () => {
  it('never takes an archive droplet, and keeps the key it uses', async () => {
    const { client } = stub(
      [droplet(1, 'archive', 'kola-a'), droplet(2, 'off', 'kola-b')],
      [
        { id: 10, name: `kola-a-t${stamp}`, fingerprint: 'f' },
        { id: 11, name: `kola-b-t${stamp}`, fingerprint: 'f' },
      ],
    );
    expect(outcome(await sweep(client, false))).toEqual({
      'do.droplet 1': 'kept: status archive (DigitalOcean is reclaiming it)',
      'do.droplet 2': 'would-remove: age 12h0m',
      'do.ssh-key 10': 'kept: used by droplet 1, which stays',
      'do.ssh-key 11': 'would-remove: age 12h0m',
    });
  });

  it('a droplet whose removal fails still holds its key', async () => {
    const { client, deleted } = stub(
      [droplet(2, 'active', 'kola-b'), droplet(3, 'active', 'kola-c')],
      [
        { id: 11, name: `kola-b-t${stamp}`, fingerprint: 'f' },
        { id: 12, name: `kola-c-t${stamp}`, fingerprint: 'f' },
      ],
      new Set([3]),
    );
    const report = await sweep(client, true);
    expect(outcome(report)).toMatchObject({
      'do.droplet 2': 'removed: age 12h0m',
      'do.droplet 3': 'failed: age 12h0m',
      'do.ssh-key 11': 'removed: age 12h0m',
      'do.ssh-key 12': 'kept: used by droplet 3, which stays',
    });
    expect(deleted).toEqual(['droplet 2', 'key 11']);
  });
});
