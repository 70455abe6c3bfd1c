import type { GcContext, GcOpenContext, GcResource, GcResourceKind, GcSession } from '@mantle/cluster';
import type { DoClient } from '../api/client.js';
import type { Droplet } from '../api/schemas.js';
import { createDoClient } from '../credentials.js';
import type { DoOptions } from '../options.js';
import { Spaces, spacesSettingsOf, stagingPrefix } from '../spaces.js';
import { ownerMatchesRun, ownerTag, parseSshKeyName, runOf, tagMap } from '../tags.js';

/**
 * `ore do gc`: account-wide (DigitalOcean lists by tag, not by region), four kinds:
 * - `do.droplet`: droplets tagged `mantle` (status `archive` never: DigitalOcean is reclaiming them);
 * - `do.ssh-key`: kola's keys (`kola-…-t<stamp>`, aged by the stamp) that no droplet staying uses
 *   (the droplet's `kola-run:` tag names the key's owner); DigitalOcean keys have no tags or dates;
 * - `do.image`: custom images and snapshots tagged `mantle` whose `expires-at:` tag has passed;
 * - `do.spaces-object`: objects under `mantle-staging/` in --do-spaces-bucket that interrupted
 *   create-image runs left (aged by LastModified), when the Spaces settings are given.
 */

export const kinds = {
  droplet: 'do.droplet',
  sshKey: 'do.ssh-key',
  image: 'do.image',
  spacesObject: 'do.spaces-object',
} as const;

interface DropletResource extends GcResource {
  status: string;
  dropletId: number;
}
interface KeyResource extends GcResource {
  keyId: number;
  owner?: string;
}
interface ImageResource extends GcResource {
  imageId: number;
}

export async function openDoGc(options: DoOptions, ctx: GcOpenContext): Promise<GcSession> {
  const client = createDoClient(options, ctx.log);
  const account = await client.account(ctx.signal);
  const { settings, missing } = spacesSettingsOf(options);
  const spaces = settings ? await Spaces.open(settings) : undefined;
  if (!settings)
    ctx.log.notice(`do: staged Spaces objects are not swept (give ${missing.join(', ')} to sweep them)`);

  const list = doGcKinds(client, spaces);
  return {
    identity: { account: account.uuid, ...(account.email ? { email: account.email } : {}) },
    ownerTag: { key: ownerTag },
    locations: ['all regions'],
    kinds: list,
    close: async () => spaces?.close(),
  };
}

/** The kinds of one sweep, bound to a client (and Spaces, when its settings are given). */
export function doGcKinds(client: DoClient, spaces?: Spaces): GcResourceKind[] {
  // one listing of the tagged droplets per sweep: the key kind reads it too
  let droplets: Promise<Droplet[]> | undefined;
  const tagged = (signal: AbortSignal) => {
    droplets ??= client.dropletsByTag(ownerTag, signal);
    return droplets;
  };
  const removedDroplets = new Set<string>();
  const goneInRun = (c: GcContext, id: string) =>
    c.apply ? removedDroplets.has(id) : c.isCandidate(kinds.droplet, id);
  return [
    dropletKind(client, tagged, removedDroplets),
    keyKind(client, tagged, goneInRun),
    imageKind(client),
    ...(spaces ? [spacesObjectKind(spaces)] : []),
  ];
}

function dropletKind(
  client: DoClient,
  tagged: (s: AbortSignal) => Promise<Droplet[]>,
  removed: Set<string>,
): GcResourceKind<DropletResource> {
  return {
    kind: kinds.droplet,
    description: 'droplets tagged mantle (never status archive)',
    async *list(ctx) {
      for (const d of await tagged(ctx.signal))
        yield {
          kind: kinds.droplet,
          id: String(d.id),
          name: d.name,
          ...(d.region?.slug ? { location: d.region.slug } : {}),
          createdAt: new Date(d.created_at),
          tags: tagMap(d.tags),
          status: d.status,
          dropletId: d.id,
        };
    },
    protectedReason: (d) =>
      d.status === 'archive' ? 'status archive (DigitalOcean is reclaiming it)' : undefined,
    // asked for, not waited on: `destroy` of kola waits; a sweep need not
    async remove(d, ctx) {
      await client.deleteDroplet(d.dropletId, ctx.signal);
      removed.add(d.id);
    },
  };
}

function keyKind(
  client: DoClient,
  tagged: (s: AbortSignal) => Promise<Droplet[]>,
  goneInRun: (c: GcContext, id: string) => boolean,
): GcResourceKind<KeyResource> {
  return {
    kind: kinds.sshKey,
    description: 'SSH keys named kola-…-t<stamp> (aged by the stamp) that no droplet staying uses',
    dependsOn: [kinds.droplet],
    async *list(ctx) {
      for (const k of await client.sshKeys(ctx.signal)) {
        if (!k.name.startsWith('kola-')) continue;
        const parsed = parseSshKeyName(k.name);
        // kola's names are the ownership mark; mantle's stampless `kola-<uuid>` keys have no age
        yield {
          kind: kinds.sshKey,
          id: String(k.id),
          name: k.name,
          tags: { [ownerTag]: '' },
          ...(parsed ? { createdAt: parsed.createdAt, owner: parsed.owner } : {}),
          keyId: k.id,
        };
      }
    },
    async protectedReason(k, ctx) {
      if (!k.owner) return undefined;
      const users = (await tagged(ctx.signal)).filter(
        (d) => ownerMatchesRun(k.owner!, runOf(d.tags)) && !goneInRun(ctx, String(d.id)),
      );
      return users.length ? `used by droplet ${users.map((d) => d.id).join(', ')}, which stays` : undefined;
    },
    async remove(k, ctx) {
      await client.deleteSshKey(k.keyId, ctx.signal);
    },
  };
}

function imageKind(client: DoClient): GcResourceKind<ImageResource> {
  return {
    kind: kinds.image,
    description: 'custom images and snapshots tagged mantle whose expires-at tag has passed',
    expiryOnly: true,
    async *list(ctx) {
      for (const i of await client.userImages(ctx.signal)) {
        const tags = tagMap(i.tags);
        if (!(ownerTag in tags)) continue;
        yield {
          kind: kinds.image,
          id: String(i.id),
          ...(i.name ? { name: i.name } : {}),
          ...(i.regions?.length ? { location: i.regions.join(',') } : {}),
          ...(i.created_at ? { createdAt: new Date(i.created_at) } : {}),
          tags,
          imageId: i.id,
        };
      }
    },
    async remove(i, ctx) {
      await client.deleteImage(i.imageId, ctx.signal);
    },
  };
}

function spacesObjectKind(spaces: Spaces): GcResourceKind {
  return {
    kind: kinds.spacesObject,
    description: `objects under ${stagingPrefix} that interrupted create-image runs left (aged by LastModified)`,
    async *list(ctx) {
      for await (const o of spaces.list(stagingPrefix, ctx.signal))
        yield {
          kind: kinds.spacesObject,
          id: `${o.bucket}/${o.key}`,
          location: spaces.settings.region,
          ...(o.lastModified ? { createdAt: o.lastModified } : {}),
          // the prefix is the ownership mark: only create-image writes there
          tags: { [ownerTag]: '' },
        };
    },
    async remove(o, ctx) {
      await spaces.delete(o.id.slice(spaces.settings.bucket.length + 1), ctx.signal);
    },
  };
}
