import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { createDigitalOceanAction, digitalOceanAction } from '../http/operations.js';
import { paginateDigitalOcean } from '../http/pagination.js';
import { digitalOceanShape } from '../http/providers.js';
import { reply, route } from '../http/routes.js';
import { expectNoViolations } from '../http/violations.js';
import { loadSpec } from './catalog.js';
import { specUnavailable } from './locate.js';
import type { SpecValidator } from './validator.js';

const unavailable = specUnavailable('digitalocean');
if (unavailable) console.log(`skipping the DigitalOcean spec tests: ${unavailable}`);

/** A droplet as the real API describes one, with every field the spec requires. */
function droplet(id: number, name: string) {
  return {
    id,
    name,
    memory: 1024,
    vcpus: 1,
    disk: 25,
    locked: false,
    status: 'new',
    kernel: null,
    created_at: '2026-01-01T00:00:00Z',
    features: [],
    backup_ids: [],
    next_backup_window: null,
    snapshot_ids: [],
    image: { id: 1, name: 'kola', distribution: 'Fedora', slug: null, public: false, regions: ['nyc3'] },
    volume_ids: [],
    size: {
      slug: 's-1vcpu-1gb',
      memory: 1024,
      vcpus: 1,
      disk: 25,
      transfer: 1,
      price_monthly: 6,
      price_hourly: 0.00893,
      regions: ['nyc3'],
      available: true,
      description: 'Basic',
    },
    size_slug: 's-1vcpu-1gb',
    networks: { v4: [], v6: [] },
    region: { name: 'New York 3', slug: 'nyc3', features: [], available: true, sizes: ['s-1vcpu-1gb'] },
    tags: [],
  };
}

describe.skipIf(unavailable !== undefined)(
  'a DigitalOcean fake checked against the DigitalOcean spec',
  () => {
    let spec: SpecValidator;
    let api: FakeApi;
    const lines: string[] = [];
    const actions = new Map<string, ReturnType<typeof createDigitalOceanAction>>();
    const droplets: ReturnType<typeof droplet>[] = [];

    beforeAll(async () => {
      const started = performance.now();
      spec = (await loadSpec('digitalocean'))!;
      console.log(`DigitalOcean spec loaded in ${Math.round(performance.now() - started)} ms`);
      api = await createFakeApi({
        name: 'digitalocean',
        spec,
        provider: digitalOceanShape(),
        log: (line) => lines.push(line),
        routes: [
          route(
            'GET',
            '/v2/account',
            () =>
              reply(200, {
                account: {
                  droplet_limit: 25,
                  floating_ip_limit: 5,
                  email: 'kola@example.com',
                  uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
                  email_verified: true,
                  status: 'active',
                  status_message: '',
                },
              }),
            { operationId: 'account_get' },
          ),
          route('GET', '/v2/droplets', (ctx) => {
            const page = paginateDigitalOcean(droplets, ctx);
            return reply(200, { droplets: page.items, links: page.links, meta: page.meta });
          }),
          route('POST', '/v2/droplets', (ctx) => {
            const { name } = ctx.body as { name: string };
            const created = droplet(droplets.length + 1, name);
            droplets.push(created);
            const id = String(7000 + created.id);
            actions.set(id, createDigitalOceanAction({ id, completeAfter: { polls: 2 } }));
            return reply(202, {
              droplet: created,
              links: {
                actions: [{ id: Number(id), rel: 'create', href: `${ctx.baseUrl}/v2/actions/${id}` }],
              },
            });
          }),
          route('GET', '/v2/droplets/{droplet_id}', (ctx) => {
            // this fake's bug: its droplets lack most fields the spec requires
            return reply(200, { droplet: { id: Number(ctx.params.droplet_id), name: 'half a droplet' } });
          }),
          route('GET', '/v2/actions/{action_id}', (ctx) => {
            const action = actions.get(ctx.params.action_id);
            if (!action) return ctx.provider.notFound('The resource you were accessing could not be found.');
            const target = { type: 'create', resourceId: 1, resourceType: 'droplet', regionSlug: 'nyc3' };
            return reply(200, { action: digitalOceanAction(action, target, 'poll') });
          }),
        ],
      });
    });
    afterAll(() => api?.close());

    const post = (path: string, body: unknown) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        body: JSON.stringify(body),
      });

    it('accepts valid requests and sends valid responses, with no violation recorded', async () => {
      const account = await fetch(`${api.url}/v2/account`);
      expect(account.status).toBe(200);
      expect(account.headers.get('ratelimit-limit')).toBe('5000');
      expect(Number(account.headers.get('ratelimit-remaining'))).toBeLessThan(5000);

      const created = await post('/v2/droplets', {
        name: 'kola-1',
        region: 'nyc3',
        size: 's-1vcpu-1gb',
        image: 'fedora-coreos',
        user_data: '{"ignition":{"version":"3.4.0"}}',
        tags: ['kola'],
      });
      expect(created.status).toBe(202);
      const { links } = (await created.json()) as { links: { actions: { href: string }[] } };

      const states: string[] = [];
      for (let i = 0; i < 5 && states.at(-1) !== 'completed'; i++) {
        const polled = (await (await fetch(links.actions[0]!.href)).json()) as { action: { status: string } };
        states.push(polled.action.status);
      }
      expect(states).toEqual(['in-progress', 'completed']);

      await post('/v2/droplets', { name: 'kola-2', size: 's-1vcpu-1gb', image: 'fedora-coreos' });
      const page = (await (await fetch(`${api.url}/v2/droplets?per_page=1&page=1`)).json()) as {
        links: { pages: { next?: string } };
      };
      expect(page).toMatchObject({ droplets: [{ name: 'kola-1' }], meta: { total: 2 } });
      expect(page.links.pages.next).toBe(`${api.url}/v2/droplets?per_page=1&page=2`);

      expect(api.requests.counts()).toEqual(
        new Map([
          ['account_get', 1],
          ['POST /v2/droplets', 2],
          ['GET /v2/actions/{action_id}', 2],
          ['GET /v2/droplets', 1],
        ]),
      );
      expectNoViolations(api);
    });

    it("refuses a body against the spec with DigitalOcean's 422 error, and records it", async () => {
      const before = droplets.length;
      const missingName = await post('/v2/droplets', { size: 's-1vcpu-1gb', image: 'fedora-coreos' });
      expect(missingName.status).toBe(422);
      const error = (await missingName.json()) as { id: string; message: string; request_id: string };
      expect(error.id).toBe('unprocessable_entity');
      expect(error.message).toContain("must have required property 'name'");
      expect(error.request_id).toMatch(/^[0-9a-f-]{36}$/);

      const wrongType = await post('/v2/droplets', { name: 42, size: 's-1vcpu-1gb', image: 'fedora-coreos' });
      expect(wrongType.status).toBe(422);
      expect(((await wrongType.json()) as { message: string }).message).toContain(
        '/requestBody/name: must be string',
      );

      const unparsable = await fetch(`${api.url}/v2/droplets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{name',
      });
      expect(unparsable.status).toBe(400);
      expect(((await unparsable.json()) as { id: string }).id).toBe('bad_request');

      const unknownQuery = await fetch(`${api.url}/v2/account?verbose=1`);
      expect(unknownQuery.status).toBe(422);

      expect(droplets.length).toBe(before); // no handler ran
      const violations = api.takeViolations();
      expect(violations.map((v) => [v.kind, v.status])).toEqual([
        ['request', 422],
        ['request', 422],
        ['request', 400],
        ['request', 422],
      ]);
      expect(violations[3]!.problems).toEqual(['/query: must NOT have additional properties (verbose)']);
    });

    it('records a response against the spec (and logs it), while still sending it', async () => {
      lines.length = 0;
      const got = await fetch(`${api.url}/v2/droplets/1`);
      expect(got.status).toBe(200);
      const violations = api.takeViolations();
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatchObject({
        kind: 'response',
        operationId: 'GET /v2/droplets/{droplet_id}',
        status: 200,
      });
      expect(violations[0]!.problems).toContain("/droplet: must have required property 'memory'");
      expect(lines.some((line) => line.includes('response GET /v2/droplets/1'))).toBe(true);

      const notNumeric = await fetch(`${api.url}/v2/droplets/abc`);
      expect(notNumeric.status).toBe(422);
      expect(api.takeViolations()[0]!.problems).toEqual(['/path/droplet_id: must be integer']);
    });

    it("DigitalOcean's throttling and server errors are what the spec declares", () => {
      const shape = digitalOceanShape();
      const throttled = shape.throttled(30);
      expect(throttled.status).toBe(429);
      expect(throttled.headers).toMatchObject({ 'ratelimit-remaining': '0' });
      expect(Number(throttled.headers!['ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 + 25);
      for (const reply of [throttled, shape.serverError(500), shape.serverError(503)])
        expect(
          spec.validateResponse('droplets_create', { status: reply.status, headers: {}, body: reply.body }),
        ).toEqual([]);
      expect(
        spec.validateResponse('droplets_create', { status: 429, headers: {}, body: { message: 'x' } }),
      ).toEqual(["/: must have required property 'id'"]);
    });

    it('refuses routes the spec does not have, or puts elsewhere', async () => {
      await expect(
        createFakeApi({ name: 'do', spec, routes: [route('GET', '/v2/nothing', () => reply(200))] }),
      ).rejects.toThrow('do: the digitalocean spec has no operation at GET /v2/nothing');
      await expect(
        createFakeApi({
          name: 'do',
          spec,
          routes: [route('GET', '/v2/droplet/{id}', () => reply(200), { operationId: 'droplets_get' })],
        }),
      ).rejects.toThrow(
        'is not where the digitalocean spec puts droplets_get (GET /v2/droplets/{droplet_id})',
      );
    });
  },
);
