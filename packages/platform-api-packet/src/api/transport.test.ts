import { CredentialsError, PlatformApiError } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import { MetalClient } from './client.js';
import { MetalApiError } from './transport.js';

type Step = Response | Error;

/** A fetch that answers each call with the next step, recording what was asked. */
function scripted(steps: Step[]) {
  const calls: Array<{ method: string; url: string; body?: string; token?: string }> = [];
  const fetchFn = (async (url: URL, init: RequestInit) => {
    calls.push({
      method: String(init.method),
      url: url.toString(),
      ...(init.body ? { body: String(init.body) } : {}),
      token: (init.headers as Record<string, string>)['x-auth-token'],
    });
    const step = steps.shift();
    if (!step) throw new Error('no more steps');
    if (step instanceof Error) throw step;
    return step;
  }) as unknown as typeof fetch;
  return { calls, fetchFn };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const dropped = () => Object.assign(new TypeError('fetch failed'), { cause: new Error('ECONNRESET') });
const device = (id: string, hostname = 'h') => ({
  id,
  hostname,
  state: 'queued',
  tags: ['mantle', 'kola-run:r'],
});

const client = (steps: Step[]) => {
  const s = scripted(steps);
  const c = new MetalClient(
    { endpoint: 'http://metal.test/metal/v1', apiKey: 'k', fetch: s.fetchFn, initialDelayMs: 1, attempts: 4 },
    'p1',
  );
  return { c, calls: s.calls };
};
const signal = () => AbortSignal.timeout(5000);
const request = {
  hostname: 'h',
  plan: 'c3.small.x86',
  metro: 'sv',
  ipxeScriptUrl: 'http://s/x',
  tags: ['mantle', 'kola-run:r'],
  sshKeyIds: ['key1'],
};

describe('the Metal transport', () => {
  it('sends X-Auth-Token and the custom_ipxe body mantle sends', async () => {
    const { c, calls } = client([json(201, device('d1'))]);
    expect((await c.createDevice(request, signal())).id).toBe('d1');
    expect(calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://metal.test/metal/v1/projects/p1/devices',
      token: 'k',
    });
    expect(JSON.parse(calls[0]!.body!)).toEqual({
      hostname: 'h',
      plan: 'c3.small.x86',
      metro: 'sv',
      operating_system: 'custom_ipxe',
      ipxe_script_url: 'http://s/x',
      always_pxe: false,
      billing_cycle: 'hourly',
      tags: ['mantle', 'kola-run:r'],
      project_ssh_keys: ['key1'],
    });
  });

  it('waits out a 429 by Retry-After, retries 5xx and dropped connections of a GET', async () => {
    const { c, calls } = client([
      json(429, { errors: ['slow down'] }, { 'retry-after': '0.01' }),
      json(503, { errors: ['Service Unavailable'] }),
      dropped(),
      json(200, device('d1')),
    ]);
    expect((await c.device('d1', signal()))?.id).toBe('d1');
    expect(calls).toHaveLength(4);
  });

  it('a create whose answer was lost is found by hostname and run tag, not made twice', async () => {
    const { c, calls } = client([dropped(), json(200, { devices: [device('d9', 'h')], meta: {} })]);
    expect((await c.createDevice(request, signal())).id).toBe('d9');
    expect(calls.map((x) => x.method)).toEqual(['POST', 'GET']);
    expect(calls[1]!.url).toContain('tag=kola-run%3Ar');
  });

  it('a transport error that never ends is an error naming the endpoint, not a crash', async () => {
    const { c } = client([dropped(), dropped(), dropped(), dropped()]);
    const e = await c.getProject(signal()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlatformApiError);
    expect((e as Error).message).toContain('no answer from http://metal.test');
  });

  it('401 is a credentials error (exit 2); 422 is not retried and says what Equinix said', async () => {
    const refused = await client([json(401, { errors: ['Invalid authentication token'] })])
      .c.getProject(signal())
      .catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(CredentialsError);
    expect((refused as CredentialsError).exitCode).toBe(2);
    const { c, calls } = client([json(422, { errors: ['Plan is not valid', 'Metro is not valid'] })]);
    const e = await c.createDevice(request, signal()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MetalApiError);
    expect((e as Error).message).toContain('Plan is not valid; Metro is not valid');
    expect(calls).toHaveLength(1);
  });

  it('follows meta.next.href across pages, on the endpoint only', async () => {
    const { c, calls } = client([
      json(200, {
        devices: [device('a')],
        meta: { next: { href: '/projects/p1/devices?page=2&per_page=1000' } },
      }),
      json(200, {
        devices: [device('b')],
        meta: { next: { href: 'https://elsewhere.test/metal/v1/projects/p1/devices?page=3' } },
      }),
      json(200, { devices: [device('c')], meta: {} }),
    ]);
    expect((await c.devices(signal(), 'mantle')).map((d) => d.id)).toEqual(['a', 'b', 'c']);
    expect(calls.map((x) => new URL(x.url).origin)).toEqual(Array(3).fill('http://metal.test'));
    expect(calls[0]!.url).toBe('http://metal.test/metal/v1/projects/p1/devices?per_page=1000&tag=mantle');
    expect(calls[1]!.url).toBe('http://metal.test/metal/v1/projects/p1/devices?page=2&per_page=1000');
  });

  it('stops at once when the signal aborts', async () => {
    const { c } = client([json(503, {}), json(503, {}), json(503, {})]);
    const ctl = new AbortController();
    ctl.abort();
    await expect(c.device('d', ctl.signal)).rejects.toThrow();
  });
});
