import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortedError, CredentialsError, createLogger, memorySink } from '@mantle/cluster';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DoClient } from './client.js';
import { DoApiError, DoCredentialsError, DoTransport } from './transport.js';

// Protocol edge cases against a server of this test's own: what a scripted answer does to the client.

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server;
let endpoint: string;
let handler: Handler;
const seen: Array<{ method: string; url: string; auth?: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
        body,
      });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const fast = { initialDelayMs: 5, maxDelayMs: 20 };
const signal = () => AbortSignal.timeout(10_000);
const ok = z.object({ ok: z.boolean() });

describe('DoTransport', () => {
  it('sends the bearer token and follows links.pages.next, rebased on the endpoint', async () => {
    handler = (req, res) => {
      const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
      // the next link names another host: the client must not send the token there
      const next =
        page < 3 ? `https://api.digitalocean.com/v2/account/keys?page=${page + 1}&per_page=2` : undefined;
      json(res, 200, {
        ssh_keys: [
          { id: page * 10, name: `k${page}a`, fingerprint: 'f' },
          { id: page * 10 + 1, name: `k${page}b`, fingerprint: 'f' },
        ],
        links: { pages: next ? { next } : {} },
        meta: { total: 6 },
      });
    };
    const client = new DoClient({ endpoint, token: 'tok-1', ...fast });
    const keys = await client.sshKeys(signal());
    expect(keys.map((k) => k.name)).toEqual(['k1a', 'k1b', 'k2a', 'k2b', 'k3a', 'k3b']);
    expect(seen.map((s) => s.url)).toEqual([
      '/v2/account/keys?per_page=200',
      '/v2/account/keys?page=2&per_page=2',
      '/v2/account/keys?page=3&per_page=2',
    ]);
    expect(seen.every((s) => s.auth === 'Bearer tok-1')).toBe(true);
  });

  it('stops a pagination that loops', async () => {
    handler = (_req, res) =>
      json(res, 200, { droplets: [], links: { pages: { next: `${endpoint}/v2/droplets?page=2` } } });
    const t = new DoTransport({ endpoint, token: 't', ...fast });
    const item = z.object({ id: z.number() });
    await expect(
      t.listAll({
        operation: 'droplets_list',
        path: '/v2/droplets',
        key: 'droplets',
        item,
        signal: signal(),
      }),
    ).rejects.toThrow(/pagination loops/);
  });

  it('waits for ratelimit-reset on 429, then succeeds', async () => {
    let calls = 0;
    const reset = 1_700_000_000;
    const now = reset * 1000 - 300; // the limit resets 300 ms after the client's clock
    handler = (_req, res) => {
      if (++calls === 1)
        return json(
          res,
          429,
          { id: 'too_many_requests', message: 'API rate limit exceeded.' },
          {
            'ratelimit-reset': String(reset),
          },
        );
      json(res, 200, { ok: true });
    };
    const sink = memorySink('debug');
    const t = new DoTransport({ endpoint, token: 't', ...fast, now: () => now, log: createLogger([sink]) });
    await expect(
      t.call({ operation: 'x', method: 'POST', path: '/v2/x', schema: ok, signal: signal() }),
    ).resolves.toEqual({
      ok: true,
    });
    // a throttled POST was not processed: it is sent again without any recover hook
    expect(calls).toBe(2);
    expect(sink.text()).toContain('do x: rate limited; waiting 1s for it to reset');
  });

  it('retries 5xx on GET with backoff and gives up after the tries', async () => {
    handler = (_req, res) => json(res, 503, { id: 'service_unavailable', message: 'down' });
    const t = new DoTransport({ endpoint, token: 't', ...fast, attempts: 3 });
    const err = await t
      .call({
        operation: 'droplets_get',
        method: 'GET',
        path: '/v2/droplets/1',
        schema: ok,
        signal: signal(),
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(DoApiError);
    expect((err as DoApiError).doId).toBe('service_unavailable');
    expect((err as Error).message).toBe('do droplets_get: down (status 503, service_unavailable)');
    expect(seen).toHaveLength(3);
  });

  it('never repeats a POST after 5xx unless it can tell whether the try took effect', async () => {
    handler = (_req, res) => json(res, 500, { id: 'server_error', message: 'boom', request_id: 'r-1' });
    const t = new DoTransport({ endpoint, token: 't', ...fast });
    const err = await t
      .call({
        operation: 'sshKeys_create',
        method: 'POST',
        path: '/v2/account/keys',
        body: {},
        schema: ok,
        signal: signal(),
      })
      .catch((e) => e);
    expect((err as Error).message).toContain('request r-1');
    expect(seen).toHaveLength(1);

    seen.length = 0;
    let asked = 0;
    const value = await t.call({
      operation: 'sshKeys_create',
      method: 'POST',
      path: '/v2/account/keys',
      body: {},
      schema: ok,
      signal: signal(),
      recover: async () => (++asked === 2 ? { ok: true } : undefined),
    });
    // try, ask (not made), try again, ask (made): the answer is the recovered one
    expect(value).toEqual({ ok: true });
    expect(asked).toBe(2);
    expect(seen).toHaveLength(2);
  });

  it('retries a dropped connection of a GET', async () => {
    let calls = 0;
    handler = (req, res) => {
      if (++calls === 1) return req.socket.destroy();
      json(res, 200, { ok: true });
    };
    const t = new DoTransport({ endpoint, token: 't', ...fast });
    await expect(
      t.call({ operation: 'x', method: 'GET', path: '/v2/x', schema: ok, signal: signal() }),
    ).resolves.toEqual({ ok: true });
    expect(calls).toBe(2);
  });

  it('retries droplet create on 422 as mantle, at its own pace', async () => {
    let calls = 0;
    handler = (_req, res) => {
      if (++calls < 3) return json(res, 422, { id: 'unprocessable_entity', message: 'region is busy' });
      json(res, 202, {
        droplet: { id: 7, name: 'd', status: 'new', created_at: '2026-01-01T00:00:00Z' },
        links: {},
      });
    };
    const client = new DoClient({ endpoint, token: 't', ...fast, createRetryDelayMs: 5 });
    const d = await client.createDroplet(
      {
        name: 'd',
        region: 'sfo2',
        size: 's',
        image: 1,
        sshKeys: [3],
        userData: '{}',
        tags: ['mantle', 'kola-run:r'],
      },
      'kola-run:r',
      signal(),
    );
    expect(d.id).toBe(7);
    expect(calls).toBe(3);
    expect(JSON.parse(seen[0]!.body)).toEqual({
      name: 'd',
      region: 'sfo2',
      size: 's',
      image: 1,
      ssh_keys: [3],
      ipv6: true,
      private_networking: true,
      user_data: '{}',
      tags: ['mantle', 'kola-run:r'],
    });
  });

  it('does not retry a 422 that calls the request invalid', async () => {
    handler = (_req, res) =>
      json(res, 422, {
        id: 'unprocessable_entity',
        message: 'You specified an invalid size for Droplet creation.',
      });
    const client = new DoClient({ endpoint, token: 't', ...fast, createRetryDelayMs: 5 });
    const request = { name: 'd', region: 'sfo2', size: 'nope', image: 1, sshKeys: [], tags: [] };
    await expect(client.createDroplet(request, 'kola-run:r', signal())).rejects.toThrow(
      'do droplets_create: You specified an invalid size for Droplet creation. (status 422, unprocessable_entity)',
    );
    expect(seen).toHaveLength(1);
  });

  it('a 401 is a credentials error (exit 2); a 404 a typed API error', async () => {
    handler = (req, res) =>
      req.url?.startsWith('/v2/account')
        ? json(res, 401, { id: 'Unauthorized', message: 'Unable to authenticate you' })
        : json(res, 404, { id: 'not_found', message: 'The resource you requested could not be found.' });
    const client = new DoClient({ endpoint, token: 'bad', ...fast });
    const err = await client.account(signal()).catch((e) => e);
    expect(err).toBeInstanceOf(DoCredentialsError);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      'do account_get: the API token was refused: Unable to authenticate you',
    );
    expect(await client.droplet(5, signal())).toBeUndefined();
    await expect(client.deleteDroplet(5, signal())).resolves.toBeUndefined();
  });

  it('rejects an answer that is not what DigitalOcean documents', async () => {
    handler = (_req, res) => json(res, 200, { droplet: { id: 'not-a-number' } });
    const client = new DoClient({ endpoint, token: 't', ...fast });
    await expect(client.droplet(1, signal())).rejects.toThrow(/unexpected answer: droplet\.id/);
  });

  it('stops at once when the signal aborts', async () => {
    handler = () => {}; // never answers
    const t = new DoTransport({ endpoint, token: 't', ...fast });
    const controller = new AbortController();
    const call = t.call({
      operation: 'x',
      method: 'GET',
      path: '/v2/x',
      schema: ok,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(call).rejects.toBeInstanceOf(AbortedError);
  });
});
