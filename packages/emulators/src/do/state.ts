import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { FakeReplyError } from '../http/errors.js';
import type { FakeReply } from '../http/routes.js';
import type { BackendMachine } from '../machines/backend.js';
import { type DoRegion, type DoSize, doRegions, regionJson, sizeJson } from './catalog.js';
import type { createDoMetadataHandler } from './metadata.js';
import { type DoProgress, doTime } from './progress.js';

// The emulated account's resources, and how the v2 API writes each one.

/** What a qemu machine can boot of an image: only kola's test image is a disk the backend has. */
export type ImageOrigin = 'test-image' | 'distribution' | 'custom' | 'snapshot';

export interface ImageRecord {
  id: number;
  name: string;
  type: 'base' | 'snapshot' | 'custom';
  distribution: string;
  slug: string | null;
  public: boolean;
  /** The regions it was made in; transfers add theirs once they complete. */
  regions: string[];
  transfers: { region: string; progress: DoProgress }[];
  createdAt: Date;
  minDiskSize: number | null;
  sizeGigabytes: number | null;
  description: string;
  tags: string[];
  origin: ImageOrigin;
  /** The import (custom) or the snapshot action making it; ready from the start when undefined. */
  progress?: DoProgress;
  /** For a snapshot: the droplet it was taken of. */
  snapshotOf?: number;
  /**
   * For a snapshot of a powered-off qemu droplet: its disk, flattened to a raw file in the emulator's
   * directory (set once the snapshot completes; removed with the image).
   */
  disk?: string;
}

export type DropletMetadataHandler = ReturnType<typeof createDoMetadataHandler>;

export interface DropletRecord {
  id: number;
  name: string;
  region: DoRegion;
  size: DoSize;
  /** The image as the droplet reports it: what it was when the droplet was made. */
  image: Record<string, unknown>;
  imageId: number;
  createdAt: Date;
  tags: string[];
  ipv6: boolean;
  monitoring: boolean;
  publicNetworking: boolean;
  privateIp: string;
  publicIpv6: string | undefined;
  userData: string | undefined;
  publicKeys: string[];
  /** The create action's progress: the machine starting, then a short boot. */
  boot: DoProgress;
  /** Set once the machine has started. */
  machine: BackendMachine | undefined;
  /** Settles when the machine has started, or failed to (then undefined). */
  starting: Promise<BackendMachine | undefined>;
  metadata: DropletMetadataHandler;
  snapshotIds: number[];
}

export interface ActionRecord {
  id: number;
  type: string;
  resourceId: number;
  resourceType: 'droplet' | 'image';
  region: DoRegion;
  progress: DoProgress;
}

export interface KeyRecord {
  id: number;
  name: string;
  publicKey: string;
  fingerprint: string;
}

export type DropletStatus = 'new' | 'active' | 'off' | 'archive';

/** A DigitalOcean error answer: `{id, message, request_id}`. */
export function doError(status: number, id: string, message: string): FakeReply {
  return { status, body: { id, message, request_id: randomUUID() } };
}

/** Throws the error answer from inside a route's helpers. */
export function refuse(status: number, id: string, message: string): never {
  throw new FakeReplyError(doError(status, id, message), message);
}

export const notFoundMessage = 'The resource you were accessing could not be found.';
export function unprocessable(message: string): never {
  return refuse(422, 'unprocessable_entity', message);
}

export class DoState {
  readonly droplets = new Map<number, DropletRecord>();
  readonly images = new Map<number, ImageRecord>();
  readonly actions = new Map<number, ActionRecord>();
  readonly keys = new Map<number, KeyRecord>();
  /** Tag names, in order of creation. */
  readonly tags = new Set<string>();
  private nextDroplet = 512_000_001;
  private nextImage = 184_000_001;
  private nextAction = 1_900_000_001;
  private nextKey = 41_000_001;
  private readonly privateHosts = new Map<string, number>();
  readonly vpcs = new Map(doRegions.map((r) => [r.slug, randomUUID()]));

  dropletId = () => this.nextDroplet++;
  imageId = () => this.nextImage++;
  actionId = () => this.nextAction++;
  keyId = () => this.nextKey++;

  /** The region's private network (its default VPC): 10.(110 + n).0.0/16. */
  privateNetwork(region: DoRegion): { prefix: string; netmask: string; gateway: string } {
    const n = doRegions.indexOf(region);
    return { prefix: `10.${110 + n}`, netmask: '255.255.0.0', gateway: `10.${110 + n}.0.1` };
  }

  /** The next private address in the region's VPC (never .0, .1 or .255 of a /24). */
  privateAddress(region: DoRegion): string {
    let n = this.privateHosts.get(region.slug) ?? 2;
    while ((n & 255) < 2 || (n & 255) === 255) n++;
    this.privateHosts.set(region.slug, n + 1);
    return `${this.privateNetwork(region).prefix}.${(n >> 8) & 255}.${n & 255}`;
  }

  /** The next IPv6 address in the region's /64 (documentation-style, nothing answers there). */
  ipv6Address(region: DoRegion, dropletId: number): string {
    return `2604:a880:${(doRegions.indexOf(region) + 1).toString(16)}:d0::${(dropletId & 0xffff).toString(16)}:1`;
  }

  // Images

  imageStatus(image: ImageRecord): 'NEW' | 'available' | 'deleted' {
    switch (image.progress?.status ?? 'completed') {
      case 'in-progress':
        return 'NEW';
      case 'completed':
        return 'available';
      case 'errored':
        return 'deleted';
    }
  }

  /** Gone from the API, and a snapshot's disk from the disk. */
  deleteImage(image: ImageRecord): void {
    this.images.delete(image.id);
    if (image.disk) rmSync(image.disk, { force: true });
  }

  /** A snapshot exists for the API once its action has completed; an import is visible from its start. */
  imageVisible(image: ImageRecord): boolean {
    return image.type !== 'snapshot' || image.progress?.status !== 'in-progress';
  }

  imageRegions(image: ImageRecord): string[] {
    const done = image.transfers.filter((t) => t.progress.status === 'completed').map((t) => t.region);
    return [...new Set([...image.regions, ...done])];
  }

  /** By numeric id, or by slug (public images only have one). */
  findImage(idOrSlug: string | number): ImageRecord | undefined {
    const text = String(idOrSlug);
    const image = /^\d+$/.test(text)
      ? this.images.get(Number(text))
      : [...this.images.values()].find((i) => i.slug === text);
    return image && this.imageVisible(image) ? image : undefined;
  }

  imageJson(image: ImageRecord) {
    return {
      id: image.id,
      name: image.name,
      type: image.type,
      distribution: image.distribution,
      slug: image.slug,
      public: image.public,
      regions: this.imageRegions(image),
      created_at: doTime(image.createdAt),
      min_disk_size: image.minDiskSize,
      size_gigabytes: image.sizeGigabytes,
      description: image.description,
      tags: image.tags,
      status: this.imageStatus(image),
      error_message: image.progress?.error ?? '',
    };
  }

  snapshotJson(image: ImageRecord) {
    return {
      id: String(image.id),
      name: image.name,
      created_at: doTime(image.createdAt),
      regions: this.imageRegions(image),
      min_disk_size: image.minDiskSize ?? 0,
      size_gigabytes: image.sizeGigabytes ?? 0,
      resource_id: String(image.snapshotOf ?? ''),
      resource_type: 'droplet' as const,
      tags: image.tags,
    };
  }

  // Droplets

  dropletStatus(droplet: DropletRecord): DropletStatus {
    if (droplet.boot.status !== 'completed' || !droplet.machine) return 'new';
    return droplet.machine.state === 'running' ? 'active' : 'off';
  }

  dropletJson(droplet: DropletRecord) {
    const net = this.privateNetwork(droplet.region);
    const v4: Record<string, unknown>[] = [];
    const v6: Record<string, unknown>[] = [];
    // DigitalOcean reports a droplet's addresses once it is provisioned, not while it is `new`
    if (droplet.machine) {
      if (droplet.publicNetworking)
        v4.push({
          ip_address: droplet.machine.sshHost,
          netmask: '255.0.0.0',
          gateway: '127.0.0.1',
          type: 'public',
        });
      v4.push({ ip_address: droplet.privateIp, netmask: net.netmask, gateway: net.gateway, type: 'private' });
      if (droplet.publicIpv6)
        v6.push({
          ip_address: droplet.publicIpv6,
          netmask: 64,
          gateway: droplet.publicIpv6.replace(/::[0-9a-f]+:1$/, '::1'),
          type: 'public',
        });
    }
    return {
      id: droplet.id,
      name: droplet.name,
      memory: droplet.size.memory,
      vcpus: droplet.size.vcpus,
      disk: droplet.size.disk,
      disk_info: [{ type: 'local' as const, size: { amount: droplet.size.disk, unit: 'gib' } }],
      locked: false,
      status: this.dropletStatus(droplet),
      kernel: null,
      created_at: doTime(droplet.createdAt),
      features: [
        'droplet_agent',
        'private_networking',
        ...(droplet.ipv6 ? ['ipv6'] : []),
        ...(droplet.monitoring ? ['monitoring'] : []),
      ],
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: droplet.snapshotIds.filter((id) => this.images.has(id)),
      image: droplet.image,
      volume_ids: [],
      size: sizeJson(droplet.size),
      size_slug: droplet.size.slug,
      networks: { v4, v6 },
      region: regionJson(droplet.region),
      tags: droplet.tags,
      vpc_uuid: this.vpcs.get(droplet.region.slug),
    };
  }

  // Actions

  actionJson(action: ActionRecord) {
    const finishedAt = action.progress.finishedAt;
    return {
      id: action.id,
      status: action.progress.status,
      type: action.type,
      started_at: doTime(action.progress.startedAt),
      completed_at: finishedAt ? doTime(finishedAt) : null,
      resource_id: action.resourceId,
      resource_type: action.resourceType,
      region: regionJson(action.region),
      region_slug: action.region.slug,
    };
  }

  /** The action of this resource with this id (an action of another resource is not found). */
  actionOf(resourceType: ActionRecord['resourceType'], resourceId: number, actionId: string) {
    const action = this.actions.get(Number(actionId));
    return action?.resourceType === resourceType && action.resourceId === resourceId ? action : undefined;
  }

  /** The answer to a GET of an action: `{action}`, or 404. */
  actionReply(action: ActionRecord | undefined): FakeReply {
    return action
      ? { status: 200, body: { action: this.actionJson(action) } }
      : doError(404, 'not_found', notFoundMessage);
  }

  addAction(action: Omit<ActionRecord, 'id'>): ActionRecord {
    const record = { id: this.actionId(), ...action };
    this.actions.set(record.id, record);
    return record;
  }

  // Keys and tags

  keyJson(key: KeyRecord) {
    return { id: key.id, fingerprint: key.fingerprint, public_key: key.publicKey, name: key.name };
  }

  /** By numeric id or by fingerprint. */
  findKey(idOrFingerprint: string | number): KeyRecord | undefined {
    const text = String(idOrFingerprint);
    if (/^\d+$/.test(text)) return this.keys.get(Number(text));
    return [...this.keys.values()].find((k) => k.fingerprint === text);
  }

  tagJson(name: string, baseUrl: string) {
    const droplets = [...this.droplets.values()].filter((d) => d.tags.includes(name));
    const images = [...this.images.values()].filter((i) => this.imageVisible(i) && i.tags.includes(name));
    const last = (kind: string, ids: number[]) =>
      ids.length ? { last_tagged_uri: `${baseUrl}/v2/${kind}/${ids.at(-1)}` } : {};
    const none = { count: 0 };
    return {
      name,
      resources: {
        count: droplets.length + images.length,
        ...last(
          droplets.length ? 'droplets' : 'images',
          droplets.length ? droplets.map((d) => d.id) : images.map((i) => i.id),
        ),
        droplets: {
          count: droplets.length,
          ...last(
            'droplets',
            droplets.map((d) => d.id),
          ),
        },
        images: {
          count: images.length,
          ...last(
            'images',
            images.map((i) => i.id),
          ),
        },
        volumes: none,
        volume_snapshots: none,
        databases: none,
      },
    };
  }

  addTags(names: readonly string[]): void {
    for (const name of names) this.tags.add(name);
  }
}
