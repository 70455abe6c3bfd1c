import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { FakeReplyError, FakeRequestError } from './errors.js';
import { createFakeApi, type FakeApi } from './fake-api.js';
import { type PathParams, reply, route } from './routes.js';
import { expectNoViolations } from './violations.js';

const quiet = () => {};
let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const items = new Map([['7', { id: 7, name: 'seven' }]]);
const routes = [
  route('GET', '/v1/items', (ctx) =>
    reply(200, { items: [...items.values()], filter: ctx.query.get('name') }),
  ),
  route('GET', '/v1/items/{id}', (ctx) => {
    const item = items.get(ctx.params.id);
    if (!item) throw new FakeReplyError(ctx.provider.notFound(`item ${ctx.params.id} not found`));
    return reply(200, { item });
  }),
  route(
    'POST',
    '/v1/items',
    (ctx) => reply(201, { created: ctx.body }, { Location: `${ctx.baseUrl}/v1/items/8` }),
    {
      operationId: 'items_create',
    },
  ),
  route('GET', '/v1/zones/{zone}/items/{item}/logs', (ctx) => reply(200, ctx.params)),
  route('GET', '/v1/b/{bucket}/o/{+object}', (ctx) => reply(200, ctx.params)),
  route('POST', '/v1/items/{id}/fail', () => {
    throw new Error('the route has a bug');
  }),
  route('POST', '/v1/items/{id}/refuse', () => {
    throw new FakeRequestError('id is not refusable');
  }),
];

describe('createFakeApi routing', () => {
  it('types path parameters from the template', () => {
    expectTypeOf<PathParams<'/v2/droplets/{id}/actions/{action_id}'>>().toEqualTypeOf<
      { id: string } & { action_id: string }
    >();
    expectTypeOf<PathParams<'/v2/account'>>().toEqualTypeOf<{}>();
  });

  it('routes by method and template, with path and query parameters and JSON bodies', async () => {
    api = await createFakeApi({ name: 'test', routes, log: quiet });
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const list = await fetch(`${api.url}/v1/items?name=seven`);
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await list.json()).toEqual({ items: [{ id: 7, name: 'seven' }], filter: 'seven' });

    expect(await (await fetch(`${api.url}/v1/items/7/`)).json()).toEqual({ item: { id: 7, name: 'seven' } });
    expect(await (await fetch(`${api.url}/v1/zones/us%20east/items/x/logs`)).json()).toEqual({
      zone: 'us east',
      item: 'x',
    });
    expect(await (await fetch(`${api.url}/v1/b/bkt/o/a/b/c.txt`)).json()).toEqual({
      bucket: 'bkt',
      object: 'a/b/c.txt',
    });

    const created = await fetch(`${api.url}/v1/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'eight' }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${api.url}/v1/items/8`);
    expect(await created.json()).toEqual({ created: { name: 'eight' } });
    expectNoViolations(api);
  });

  it("answers the provider's errors: unknown paths, thrown replies, refused requests, bad JSON", async () => {
    const lines: string[] = [];
    api = await createFakeApi({ name: 'test', routes, log: (line) => lines.push(line) });

    const unknown = await fetch(`${api.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { status: 404, message: 'GET /v1/nothing is not a route of this API' },
    });
    expect(lines).toContain('test: no route for GET /v1/nothing');
    expect((await fetch(`${api.url}/v1/items/7`, { method: 'DELETE' })).status).toBe(404);

    const missing = await fetch(`${api.url}/v1/items/9`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { status: 404, message: 'item 9 not found' } });

    const refused = await fetch(`${api.url}/v1/items/7/refuse`, { method: 'POST' });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ error: { status: 422, message: 'id is not refusable' } });

    const badJson = await fetch(`${api.url}/v1/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(badJson.status).toBe(400);

    const crashed = await fetch(`${api.url}/v1/items/7/fail`, { method: 'POST' });
    expect(crashed.status).toBe(500);

    const violations = api.takeViolations();
    expect(violations.map((v) => [v.kind, v.operationId, v.status])).toEqual([
      ['request', 'POST /v1/items/{id}/refuse', 422],
      ['request', 'items_create', 400],
      ['handler', 'POST /v1/items/{id}/fail', 500],
    ]);
    expect(violations[2]!.problems[0]).toContain('the route has a bug');
    expect(api.violations()).toEqual([]);
  });

  it('counts calls per operation id, and forgets them on reset()', async () => {
    api = await createFakeApi({ name: 'test', routes, log: quiet });
    await fetch(`${api.url}/v1/items`);
    await fetch(`${api.url}/v1/items/7`);
    await fetch(`${api.url}/v1/items/8`);
    await fetch(`${api.url}/v1/items`, { method: 'POST' });
    await fetch(`${api.url}/elsewhere`);
    expect(api.requests.counts()).toEqual(
      new Map([
        ['GET /v1/items', 1],
        ['GET /v1/items/{id}', 2],
        ['items_create', 1],
        ['(unrouted)', 1],
      ]),
    );
    expect(api.requests.entries().map((e) => e.status)).toEqual([200, 200, 404, 201, 404]);
    api.requests.reset();
    expect(api.requests.counts().size).toBe(0);
  });

  it('serves under a base path, and refuses two routes for one path', async () => {
    api = await createFakeApi({ name: 'test', routes, basePath: '/metal/v1/', log: quiet });
    expect(api.url).toBe(`${api.origin}/metal/v1`);
    expect((await fetch(`${api.url}/v1/items/7`)).status).toBe(200);
    expect((await fetch(`${api.origin}/v1/items/7`)).status).toBe(404);
    await expect(
      createFakeApi({
        name: 'dup',
        routes: [route('GET', '/a/{x}', () => reply(200)), route('GET', '/a/{y}', () => reply(200))],
      }),
    ).rejects.toThrow('dup: two routes for GET /a/{y}');
  });

  it('expectNoViolations fails with the list, then starts clean', async () => {
    api = await createFakeApi({ name: 'test', routes, log: quiet });
    await fetch(`${api.url}/v1/items/7/refuse`, { method: 'POST' });
    expect(() => expectNoViolations(api!)).toThrow(
      /test: 1 spec violation\(s\):\n {2}request POST \/v1\/items\/7\/refuse .*→ 422: id is not refusable/,
    );
    expect(() => expectNoViolations(api!)).not.toThrow();
  });

  it('closes with its open keep-alive connections, and on abort', async () => {
    const controller = new AbortController();
    api = await createFakeApi({ name: 'test', routes, log: quiet, signal: controller.signal });
    const { url } = api;
    expect((await fetch(`${url}/v1/items`)).status).toBe(200);
    controller.abort();
    await api.close();
    await expect(fetch(`${url}/v1/items`)).rejects.toThrow();
  });

  it('authenticate refuses before the route; a streamBody route reads its body itself, unlimited', async () => {
    let seen = 0;
    api = await createFakeApi({
      name: 'test',
      log: quiet,
      maxBodyBytes: 1024,
      authenticate: (request) =>
        request.headers.authorization === 'Bearer ok'
          ? undefined
          : { status: 401, body: { error: request.operationId } },
      routes: [
        route(
          'PUT',
          '/upload',
          async (ctx) => {
            expect(ctx.rawBody.length).toBe(0);
            for await (const chunk of ctx.bodyStream ?? []) seen += chunk.length;
            return reply(200, { seen });
          },
          { streamBody: true },
        ),
      ],
    });
    const body = Buffer.alloc(100_000, 1);
    const refused = await fetch(`${api.url}/upload`, { method: 'PUT', body });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'PUT /upload' });
    const r = await fetch(`${api.url}/upload`, {
      method: 'PUT',
      body,
      headers: { authorization: 'Bearer ok' },
    });
    expect(await r.json()).toEqual({ seen: 100_000 });
  });
});
