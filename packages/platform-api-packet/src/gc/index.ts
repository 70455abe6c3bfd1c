import {
  type GcContext,
  type GcOpenContext,
  type GcResource,
  type GcResourceKind,
  type GcSession,
  tagMap,
} from '@mantle/cluster';
import type { MetalClient } from '../api/client.js';
import type { Device } from '../api/schemas.js';
import { createMetalClient } from '../credentials.js';
import type { PacketOptions } from '../options.js';
import { Storage } from '../storage.js';
import { ownerTag } from '../tags.js';

/**
 * `ore packet gc`: project-wide, three kinds (mantle collected devices only):
 * - `packet.device`: devices tagged `mantle`, never locked ones nor ones still queued/provisioning
 *   (mantle's rules), aged by `created_at`;
 * - `packet.ssh-key`: kola's project keys (`kola-<run>`, aged by `created_at`) that no device staying
 *   of that run uses;
 * - `packet.storage-object`: the `<hostname>-<10 hex>` install objects under --packet-storage-url
 *   that interrupted runs left (aged by LastModified), when a storage URL is given.
 */

export const kinds = {
  device: 'packet.device',
  sshKey: 'packet.ssh-key',
  storageObject: 'packet.storage-object',
} as const;

interface DeviceResource extends GcResource {
  state: string;
  locked: boolean;
}
interface KeyResource extends GcResource {
  run: string;
}

export async function openPacketGc(options: PacketOptions, ctx: GcOpenContext): Promise<GcSession> {
  const client = createMetalClient(options, ctx.log);
  const project = await client.getProject(ctx.signal);
  // storage is opened only when there is something to sweep there
  const storage = options.storageUrl ? await Storage.open(options, 'ore packet gc') : undefined;
  if (!storage) ctx.log.notice('packet: staged install objects are not swept (give --packet-storage-url)');
  return {
    identity: { project: project.id, ...(project.name ? { name: project.name } : {}) },
    ownerTag: { key: ownerTag },
    locations: ['all metros'],
    kinds: packetGcKinds(client, storage),
    close: async () => storage?.close(),
  };
}

export function packetGcKinds(client: MetalClient, storage?: Storage): GcResourceKind[] {
  // one listing of the tagged devices per sweep: the key kind reads it too
  let devices: Promise<Device[]> | undefined;
  const tagged = (signal: AbortSignal) => {
    devices ??= client.devices(signal, ownerTag);
    return devices;
  };
  const removed = new Set<string>();
  const stays = (c: GcContext, id: string) => !(c.apply ? removed.has(id) : c.isCandidate(kinds.device, id));
  return [
    deviceKind(client, tagged, removed),
    keyKind(client, tagged, stays),
    ...(storage ? [objectKind(storage)] : []),
  ];
}

const unfinished = new Set(['queued', 'provisioning']);

function deviceKind(
  client: MetalClient,
  tagged: (s: AbortSignal) => Promise<Device[]>,
  removed: Set<string>,
): GcResourceKind<DeviceResource> {
  return {
    kind: kinds.device,
    description: 'devices tagged mantle (never locked, queued or provisioning ones)',
    async *list(ctx) {
      for (const d of await tagged(ctx.signal))
        yield {
          kind: kinds.device,
          id: d.id,
          ...(d.hostname ? { name: d.hostname } : {}),
          ...(d.metro?.code ? { location: d.metro.code } : {}),
          ...(d.created_at ? { createdAt: new Date(d.created_at) } : {}),
          tags: tagMap(d.tags),
          state: d.state ?? 'unknown',
          locked: d.locked ?? false,
        };
    },
    protectedReason: (d) =>
      d.locked
        ? 'locked'
        : unfinished.has(d.state)
          ? `state ${d.state} (still being provisioned)`
          : undefined,
    async remove(d, ctx) {
      await client.deleteDevice(d.id, ctx.signal);
      removed.add(d.id);
    },
  };
}

function keyKind(
  client: MetalClient,
  tagged: (s: AbortSignal) => Promise<Device[]>,
  stays: (c: GcContext, id: string) => boolean,
): GcResourceKind<KeyResource> {
  return {
    kind: kinds.sshKey,
    description: 'project SSH keys labelled kola-<run> that no device staying uses',
    dependsOn: [kinds.device],
    async *list(ctx) {
      for (const k of await client.sshKeys(ctx.signal)) {
        if (!k.label?.startsWith('kola-')) continue;
        // the label is the ownership mark: keys carry no tags kola sets
        yield {
          kind: kinds.sshKey,
          id: k.id,
          name: k.label,
          tags: { [ownerTag]: '' },
          ...(k.created_at ? { createdAt: new Date(k.created_at) } : {}),
          run: k.label,
        };
      }
    },
    async protectedReason(k, ctx) {
      const users = (await tagged(ctx.signal)).filter((d) => {
        const run = tagMap(d.tags)['kola-run'];
        return run !== undefined && (k.run === run || k.run === `kola-${run}`) && stays(ctx, d.id);
      });
      return users.length ? `used by device ${users.map((d) => d.id).join(', ')}, which stays` : undefined;
    },
    async remove(k, ctx) {
      await client.deleteSshKey(k.id, ctx.signal);
    },
  };
}

function objectKind(storage: Storage): GcResourceKind {
  const { bucket, prefix } = storage.location;
  return {
    kind: kinds.storageObject,
    description: `install objects <hostname>-<10 hex> under s3://${bucket}/${prefix} left by interrupted runs`,
    async *list(ctx) {
      for await (const o of storage.list(ctx.signal)) {
        // only names kola writes: a prefix shared with other files keeps them
        if (!/^[A-Za-z0-9-]+-[0-9a-f]{10}$/.test(o.key.slice(prefix.length))) continue;
        yield {
          kind: kinds.storageObject,
          id: `${bucket}/${o.key}`,
          ...(o.lastModified ? { createdAt: o.lastModified } : {}),
          tags: { [ownerTag]: '' },
        };
      }
    },
    async remove(o, ctx) {
      await storage.delete(o.id.slice(bucket.length + 1), ctx.signal);
    },
  };
}
