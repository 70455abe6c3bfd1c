import { z } from 'zod';
import {
  type Account,
  type Action,
  accountSchema,
  actionSchema,
  type Droplet,
  dropletSchema,
  type Image,
  imageSchema,
  type Region,
  regionSchema,
  type SshKey,
  sshKeySchema,
  tagSchema,
} from './schemas.js';
import { DoApiError, DoTransport, type DoTransportOptions, isNotFound } from './transport.js';

export interface CreateDropletRequest {
  name: string;
  region: string;
  size: string;
  /** An image id, or a slug. */
  image: number | string;
  sshKeys: number[];
  userData?: string;
  tags: string[];
}

export interface DoClientTuning {
  /** Pause between droplet-create tries answered 422 or 5xx (mantle: 10 s, 30 tries). */
  createRetryDelayMs?: number;
  createRetryAttempts?: number;
}

/**
 * The endpoints kola and ore use, typed. One instance per token and endpoint; every method takes
 * the signal of the work it belongs to.
 */
export class DoClient {
  readonly transport: DoTransport;
  private readonly tuning: Required<DoClientTuning>;

  constructor(options: DoTransportOptions & DoClientTuning) {
    this.transport = new DoTransport(options);
    this.tuning = {
      createRetryDelayMs: options.createRetryDelayMs ?? 10_000,
      createRetryAttempts: options.createRetryAttempts ?? 30,
    };
  }

  // account, regions

  async account(signal: AbortSignal): Promise<Account> {
    const a = await this.transport.call({
      operation: 'account_get',
      method: 'GET',
      path: '/v2/account',
      schema: z.looseObject({ account: accountSchema }),
      signal,
    });
    return a.account;
  }

  regions(signal: AbortSignal): Promise<Region[]> {
    return this.transport.listAll({
      operation: 'regions_list',
      path: '/v2/regions',
      key: 'regions',
      item: regionSchema,
      signal,
    });
  }

  // droplets

  /**
   * POST /v2/droplets, retried on 422 and 5xx as mantle does (but not a 422 that calls the request
   * invalid). A try whose answer was lost is looked
   * for by name among the droplets with `findTag` before the next try, so it is never made twice.
   */
  async createDroplet(r: CreateDropletRequest, findTag: string, signal: AbortSignal): Promise<Droplet> {
    const answer = await this.transport.call({
      operation: 'droplets_create',
      method: 'POST',
      path: '/v2/droplets',
      body: {
        name: r.name,
        region: r.region,
        size: r.size,
        image: r.image,
        ssh_keys: r.sshKeys,
        ipv6: true,
        private_networking: true,
        ...(r.userData !== undefined ? { user_data: r.userData } : {}),
        tags: r.tags,
      },
      schema: z.looseObject({ droplet: dropletSchema }),
      retryStatuses: {
        statuses: [422],
        attempts: this.tuning.createRetryAttempts,
        delayMs: this.tuning.createRetryDelayMs,
        // "You specified an invalid size/region/image/SSH key": asking again cannot help
        retryIf: (a) => !/\binvalid\b/i.test(a.message),
      },
      recover: async (s) => {
        const made = (await this.dropletsByTag(findTag, s)).find((d) => d.name === r.name);
        return made ? { droplet: made } : undefined;
      },
      signal,
    });
    return answer.droplet;
  }

  /** The droplet, or undefined once DigitalOcean no longer knows it. */
  async droplet(id: number, signal: AbortSignal): Promise<Droplet | undefined> {
    try {
      const a = await this.transport.call({
        operation: 'droplets_get',
        method: 'GET',
        path: `/v2/droplets/${id}`,
        schema: z.looseObject({ droplet: dropletSchema }),
        signal,
      });
      return a.droplet;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  dropletsByTag(tag: string, signal: AbortSignal): Promise<Droplet[]> {
    return this.transport.listAll({
      operation: 'droplets_list',
      path: '/v2/droplets',
      key: 'droplets',
      item: dropletSchema,
      query: { tag_name: tag },
      signal,
    });
  }

  /** DELETE /v2/droplets/{id}; already gone is success. */
  async deleteDroplet(id: number, signal: AbortSignal): Promise<void> {
    await this.ignoreNotFound(
      this.transport.call({
        operation: 'droplets_destroy',
        method: 'DELETE',
        path: `/v2/droplets/${id}`,
        signal,
      }),
    );
  }

  /**
   * POST /v2/droplets/{id}/actions: power_off, shutdown, snapshot (with `name`), … A droplet with an
   * action still running answers 422 "pending event": asked again every 2 s, for up to a minute.
   */
  async dropletAction(
    id: number,
    body: { type: string; name?: string },
    signal: AbortSignal,
  ): Promise<Action> {
    const a = await this.transport.call({
      operation: `dropletActions_post(${body.type})`,
      method: 'POST',
      path: `/v2/droplets/${id}/actions`,
      body,
      schema: z.looseObject({ action: actionSchema }),
      retryStatuses: {
        statuses: [422],
        attempts: 30,
        delayMs: 2000,
        retryIf: (a) => /pending event/i.test(a.message),
      },
      signal,
    });
    return a.action;
  }

  /** The snapshots taken of a droplet (by its `snapshot_ids`), as images. */
  async dropletSnapshots(id: number, signal: AbortSignal): Promise<Image[]> {
    const droplet = await this.droplet(id, signal);
    const images = await Promise.all((droplet?.snapshot_ids ?? []).map((s) => this.image(s, signal)));
    return images.filter((i): i is Image => i !== undefined);
  }

  // actions

  async action(id: number, signal: AbortSignal): Promise<Action> {
    const a = await this.transport.call({
      operation: 'actions_get',
      method: 'GET',
      path: `/v2/actions/${id}`,
      schema: z.looseObject({ action: actionSchema }),
      signal,
    });
    return a.action;
  }

  // images

  /** Images of this account (custom images, snapshots, backups), every page. */
  userImages(signal: AbortSignal): Promise<Image[]> {
    return this.transport.listAll({
      operation: 'images_list',
      path: '/v2/images',
      key: 'images',
      item: imageSchema,
      query: { private: true },
      signal,
    });
  }

  async image(idOrSlug: number | string, signal: AbortSignal): Promise<Image | undefined> {
    try {
      const a = await this.transport.call({
        operation: 'images_get',
        method: 'GET',
        path: `/v2/images/${encodeURIComponent(String(idOrSlug))}`,
        schema: z.looseObject({ image: imageSchema }),
        signal,
      });
      return a.image;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * POST /v2/images: a custom image DigitalOcean fetches from `url`. A lost answer is recovered by
   * looking for an image of that name made since the call started.
   */
  async createCustomImage(
    r: { name: string; url: string; region: string; tags: string[]; distribution?: string },
    signal: AbortSignal,
  ): Promise<Image> {
    const since = Date.now() - 60_000;
    const answer = await this.transport.call({
      operation: 'images_create_custom',
      method: 'POST',
      path: '/v2/images',
      body: {
        name: r.name,
        url: r.url,
        region: r.region,
        tags: r.tags,
        ...(r.distribution ? { distribution: r.distribution } : {}),
      },
      schema: z.looseObject({ image: imageSchema }),
      recover: async (s) => {
        const made = (await this.userImages(s)).find(
          (i) => i.name === r.name && i.type === 'custom' && Date.parse(i.created_at ?? '') >= since,
        );
        return made ? { image: made } : undefined;
      },
      signal,
    });
    return answer.image;
  }

  async deleteImage(id: number, signal: AbortSignal): Promise<void> {
    await this.ignoreNotFound(
      this.transport.call({ operation: 'images_delete', method: 'DELETE', path: `/v2/images/${id}`, signal }),
    );
  }

  /** POST /v2/images/{id}/actions `transfer` to `region`. */
  async transferImage(id: number, region: string, signal: AbortSignal): Promise<Action> {
    const a = await this.transport.call({
      operation: 'imageActions_post(transfer)',
      method: 'POST',
      path: `/v2/images/${id}/actions`,
      body: { type: 'transfer', region },
      // the spec documents the bare action; the live API wraps it in {action}: either is accepted
      schema: z.union([z.looseObject({ action: actionSchema }), actionSchema]),
      signal,
    });
    return 'action' in a && typeof a.action === 'object' ? (a.action as Action) : (a as Action);
  }

  // SSH keys

  sshKeys(signal: AbortSignal): Promise<SshKey[]> {
    return this.transport.listAll({
      operation: 'sshKeys_list',
      path: '/v2/account/keys',
      key: 'ssh_keys',
      item: sshKeySchema,
      signal,
    });
  }

  /**
   * POST /v2/account/keys. The fingerprint (MD5 of the key, as DigitalOcean computes it) is known in
   * advance, so a lost answer is recovered by reading the key back.
   */
  async createSshKey(
    name: string,
    publicKey: string,
    fingerprint: string,
    signal: AbortSignal,
  ): Promise<SshKey> {
    const a = await this.transport.call({
      operation: 'sshKeys_create',
      method: 'POST',
      path: '/v2/account/keys',
      body: { name, public_key: publicKey },
      schema: z.looseObject({ ssh_key: sshKeySchema }),
      recover: async (s) => {
        const k = await this.sshKey(fingerprint, s);
        return k ? { ssh_key: k } : undefined;
      },
      signal,
    });
    return a.ssh_key;
  }

  async sshKey(idOrFingerprint: number | string, signal: AbortSignal): Promise<SshKey | undefined> {
    try {
      const a = await this.transport.call({
        operation: 'sshKeys_get',
        method: 'GET',
        path: `/v2/account/keys/${encodeURIComponent(String(idOrFingerprint))}`,
        schema: z.looseObject({ ssh_key: sshKeySchema }),
        signal,
      });
      return a.ssh_key;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** DELETE /v2/account/keys/{id or fingerprint}; already gone is success. */
  async deleteSshKey(idOrFingerprint: number | string, signal: AbortSignal): Promise<void> {
    await this.ignoreNotFound(
      this.transport.call({
        operation: 'sshKeys_delete',
        method: 'DELETE',
        path: `/v2/account/keys/${encodeURIComponent(String(idOrFingerprint))}`,
        signal,
      }),
    );
  }

  // tags

  /** POST /v2/tags; an existing tag is fine. */
  async createTag(name: string, signal: AbortSignal): Promise<void> {
    try {
      await this.transport.call({
        operation: 'tags_create',
        method: 'POST',
        path: '/v2/tags',
        body: { name },
        schema: z.looseObject({ tag: tagSchema }),
        repeatable: true,
        signal,
      });
    } catch (e) {
      if (!(e instanceof DoApiError && e.status === 422)) throw e;
    }
  }

  /** POST /v2/tags/{tag}/resources: tags images (snapshots have no tags field on create). */
  async tagResources(
    tag: string,
    resources: Array<{ id: number | string; type: 'droplet' | 'image' | 'volume' | 'volume_snapshot' }>,
    signal: AbortSignal,
  ): Promise<void> {
    await this.transport.call({
      operation: 'tags_assign_resources',
      method: 'POST',
      path: `/v2/tags/${encodeURIComponent(tag)}/resources`,
      body: { resources: resources.map((r) => ({ resource_id: String(r.id), resource_type: r.type })) },
      repeatable: true,
      signal,
    });
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
