import { randomBytes } from 'node:crypto';
import { type Route, reply, route } from '../http/routes.js';
import { doRegions, doSizes, regionJson, sizeJson } from './catalog.js';
import { type DoContext, listReply } from './context.js';
import { md5Fingerprint, parsePublicKey } from './ssh-key.js';
import { type KeyRecord, notFoundMessage, refuse, unprocessable } from './state.js';

/** The account, its regions and sizes, SSH keys and tags. */
export function accountRoutes(c: DoContext): Route[] {
  const { state } = c;
  const uuid = randomBytes(20).toString('hex');
  const findKey = (id: string): KeyRecord => state.findKey(id) ?? refuse(404, 'not_found', notFoundMessage);
  const findTag = (name: string): string =>
    state.tags.has(name) ? name : refuse(404, 'not_found', notFoundMessage);

  return [
    route(
      'GET',
      '/v2/account',
      () =>
        reply(200, {
          account: {
            droplet_limit: 25,
            floating_ip_limit: 3,
            volume_limit: 100,
            email: 'kola@emulated.invalid',
            name: 'kola',
            uuid,
            email_verified: true,
            status: 'active',
            status_message: '',
            team: { uuid: uuid.slice(0, 32), name: 'kola' },
          },
        }),
      { operationId: 'account_get' },
    ),
    route('GET', '/v2/regions', (ctx) => listReply('regions', doRegions.map(regionJson), ctx), {
      operationId: 'regions_list',
    }),
    route('GET', '/v2/sizes', (ctx) => listReply('sizes', doSizes.map(sizeJson), ctx), {
      operationId: 'sizes_list',
    }),

    route(
      'GET',
      '/v2/account/keys',
      (ctx) =>
        listReply(
          'ssh_keys',
          [...state.keys.values()].map((k) => state.keyJson(k)),
          ctx,
        ),
      { operationId: 'sshKeys_list' },
    ),
    route(
      'POST',
      '/v2/account/keys',
      (ctx) => {
        const body = ctx.body as { name: string; public_key: string };
        const parsed = parsePublicKey(body.public_key);
        if (!parsed) unprocessable('Key invalid, key should be of the format `type key [comment]`');
        const fingerprint = md5Fingerprint(parsed.blob);
        if (state.findKey(fingerprint)) unprocessable('SSH Key is already in use on your account');
        const key = { id: state.keyId(), name: body.name, publicKey: body.public_key.trim(), fingerprint };
        state.keys.set(key.id, key);
        return reply(201, { ssh_key: state.keyJson(key) });
      },
      { operationId: 'sshKeys_create' },
    ),
    route(
      'GET',
      '/v2/account/keys/{ssh_key_identifier}',
      (ctx) => reply(200, { ssh_key: state.keyJson(findKey(ctx.params.ssh_key_identifier)) }),
      { operationId: 'sshKeys_get' },
    ),
    route(
      'PUT',
      '/v2/account/keys/{ssh_key_identifier}',
      (ctx) => {
        const key = findKey(ctx.params.ssh_key_identifier);
        const { name } = ctx.body as { name?: string };
        if (name !== undefined) key.name = name;
        return reply(200, { ssh_key: state.keyJson(key) });
      },
      { operationId: 'sshKeys_update' },
    ),
    route(
      'DELETE',
      '/v2/account/keys/{ssh_key_identifier}',
      (ctx) => {
        state.keys.delete(findKey(ctx.params.ssh_key_identifier).id);
        return reply(204);
      },
      { operationId: 'sshKeys_delete' },
    ),

    route(
      'GET',
      '/v2/tags',
      (ctx) =>
        listReply(
          'tags',
          [...state.tags].map((t) => state.tagJson(t, ctx.baseUrl)),
          ctx,
        ),
      { operationId: 'tags_list' },
    ),
    route(
      'POST',
      '/v2/tags',
      (ctx) => {
        const { name } = ctx.body as { name?: string };
        if (!name) unprocessable('name is required');
        // creating a tag that exists answers it, as DigitalOcean does
        state.addTags([name]);
        return reply(201, { tag: state.tagJson(name, ctx.baseUrl) });
      },
      { operationId: 'tags_create' },
    ),
    route(
      'GET',
      '/v2/tags/{tag_id}',
      (ctx) => reply(200, { tag: state.tagJson(findTag(ctx.params.tag_id), ctx.baseUrl) }),
      { operationId: 'tags_get' },
    ),
    route(
      'POST',
      '/v2/tags/{tag_id}/resources',
      (ctx) => {
        const tag = findTag(ctx.params.tag_id);
        const { resources } = ctx.body as { resources: { resource_id?: string; resource_type?: string }[] };
        // every resource is checked before any is tagged
        const targets = resources.map(({ resource_id: id, resource_type: type }) => {
          const target =
            type === 'droplet'
              ? state.droplets.get(Number(id))
              : type === 'image'
                ? state.findImage(id ?? '')
                : unprocessable(`The emulator does not tag resources of type ${type}.`);
          if (!target || ('public' in target && target.public))
            return refuse(404, 'not_found', `${type} ${id} could not be found.`);
          return target;
        });
        for (const target of targets) if (!target.tags.includes(tag)) target.tags.push(tag);
        return reply(204);
      },
      { operationId: 'tags_assign_resources' },
    ),
    route(
      'DELETE',
      '/v2/tags/{tag_id}',
      (ctx) => {
        const tag = findTag(ctx.params.tag_id);
        state.tags.delete(tag);
        for (const target of [...state.droplets.values(), ...state.images.values()])
          target.tags = target.tags.filter((t) => t !== tag);
        return reply(204);
      },
      { operationId: 'tags_delete' },
    ),
  ];
}
