import { Agent, get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { awsEc2Shape, azureShape, digitalOceanShape, googleShape } from '../http/providers.js';
import { reply, route } from '../http/routes.js';
import { createFaultInjector, type FaultOptions } from './faults.js';
import { mulberry32 } from './prng.js';

const quiet = () => {};
const apis: FakeApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

async function fake(faults: FaultOptions, provider = digitalOceanShape()) {
  const api = await createFakeApi({
    name: 'faulty',
    provider,
    faults,
    log: quiet,
    routes: [
      route('GET', '/v2/account', () => reply(200, { ok: true }), { operationId: 'account_get' }),
      route('GET', '/v2/sizes', () => reply(200, { ok: true }), { operationId: 'sizes_list' }),
    ],
  });
  apis.push(api);
  return api;
}

/** One request (node:http with keep-alive: cheaper than fetch in a loop); a dropped connection shows as `dropped`. */
function status(url: string, agent?: Agent): Promise<number | 'dropped'> {
  return new Promise((resolve) => {
    get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', () => resolve('dropped'));
  });
}

describe('mulberry32', () => {
  it('repeats for a seed, differs between seeds, and stays in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const first = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(first);
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('createFaultInjector', () => {
  it('is deterministic for a seed, at about the rate asked, over all kinds', () => {
    const schedule = (seed: number) => {
      const faults = createFaultInjector({ rate: 0.2, seed });
      return Array.from({ length: 2000 }, () => faults.decide('any')?.kind ?? '-');
    };
    const once = schedule(42);
    expect(schedule(42)).toEqual(once);
    expect(schedule(43)).not.toEqual(once);
    const faulted = once.filter((k) => k !== '-');
    expect(faulted.length).toBeGreaterThan(2000 * 0.2 - 90);
    expect(faulted.length).toBeLessThan(2000 * 0.2 + 90);
    expect(new Set(faulted)).toEqual(new Set(['throttle', 'server-error', 'drop', 'latency']));
  });

  it('injects only into the operations named, which leaves the others out of the sequence', () => {
    const faults = createFaultInjector({ rate: 1, seed: 1, operations: ['a'] });
    expect(faults.decide('b')).toBeUndefined();
    expect(faults.decide('a')).toBeDefined();
    const withOthers = createFaultInjector({ rate: 0.5, seed: 9, operations: ['a'] });
    const alone = createFaultInjector({ rate: 0.5, seed: 9, operations: ['a'] });
    const mixed = Array.from({ length: 50 }, () => {
      withOthers.decide('b');
      return withOthers.decide('a')?.kind;
    });
    expect(Array.from({ length: 50 }, () => alone.decide('a')?.kind)).toEqual(mixed);
  });

  it('refuses a rate out of range, an unknown kind, and an empty kind list', () => {
    expect(() => createFaultInjector({ rate: 1.5, seed: 1 })).toThrow(
      'fault rate 1.5 is not between 0 and 1',
    );
    expect(() => createFaultInjector({ rate: 0.1, seed: 1.5 })).toThrow('fault seed 1.5 is not an integer');
    expect(() => createFaultInjector({ rate: 0.1, seed: 1, kinds: [] })).toThrow('no fault kinds');
    expect(() => createFaultInjector({ rate: 0.1, seed: 1, kinds: ['boom' as 'drop'] })).toThrow(
      'unknown fault kind boom',
    );
  });
});

describe('faults in a fake', () => {
  it('give the same answers for the same seed, at about the rate asked, over 1000 requests', async () => {
    const options: FaultOptions = { rate: 0.1, seed: 2026, kinds: ['throttle', 'server-error', 'drop'] };
    const run = async () => {
      const api = await fake(options);
      const agent = new Agent({ keepAlive: true });
      const statuses: (number | 'dropped')[] = [];
      for (let i = 0; i < 1000; i++) statuses.push(await status(`${api.url}/v2/account`, agent));
      agent.destroy();
      return { statuses, injected: api.faultsInjected(), log: api.requests.entries() };
    };
    const first = await run();
    const faulted = first.statuses.filter((s) => s !== 200).length;
    expect(faulted).toBeGreaterThan(60);
    expect(faulted).toBeLessThan(140);
    expect(new Set(first.statuses)).toEqual(new Set([200, 429, 500, 503, 'dropped']));
    expect([...first.injected.values()].reduce((a, b) => a + b, 0)).toBe(faulted);
    expect(first.log.filter((e) => e.fault === 'drop').every((e) => e.status === undefined)).toBe(true);

    const second = await run();
    expect(second.statuses).toEqual(first.statuses);
  });

  it('a dropped connection is an error to a fetch client', async () => {
    const api = await fake({ rate: 1, seed: 1, kinds: ['drop'] });
    await expect(fetch(`${api.url}/v2/account`)).rejects.toThrow(TypeError);
    expect(api.requests.counts().get('account_get')).toBe(1);
  });

  it('latency delays the answer, which is then the normal one', async () => {
    const api = await fake({ rate: 1, seed: 1, kinds: ['latency'], latencyMs: { min: 150, max: 150 } });
    const started = performance.now();
    expect(await status(`${api.url}/v2/account`)).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('only the operations named get faults', async () => {
    const api = await fake({ rate: 1, seed: 1, kinds: ['server-error'], operations: ['sizes_list'] });
    expect(await status(`${api.url}/v2/account`)).toBe(200);
    expect([500, 503]).toContain(await status(`${api.url}/v2/sizes`));
  });

  it("throttling is each provider's own answer", async () => {
    const answers = [];
    for (const provider of [digitalOceanShape(), googleShape(), azureShape(), awsEc2Shape()]) {
      const api = await fake({ rate: 1, seed: 1, kinds: ['throttle'], retryAfterSeconds: 7 }, provider);
      const res = await fetch(`${api.url}/v2/account`);
      answers.push({
        provider: provider.name,
        status: res.status,
        headers: res.headers,
        body: await res.text(),
      });
    }
    const [digitalocean, google, azure, aws] = answers;
    expect(digitalocean!.status).toBe(429);
    expect(digitalocean!.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(digitalocean!.headers.get('ratelimit-reset')) - Date.now() / 1000).toBeGreaterThan(5);
    expect(JSON.parse(digitalocean!.body)).toMatchObject({ id: 'too_many_requests' });
    expect(google!.status).toBe(429);
    expect(JSON.parse(google!.body).error.errors[0].reason).toBe('rateLimitExceeded');
    expect(azure!.status).toBe(429);
    expect(azure!.headers.get('retry-after')).toBe('7');
    expect(JSON.parse(azure!.body).error.code).toBe('TooManyRequests');
    expect(aws!.status).toBe(503);
    expect(aws!.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(aws!.body).toContain('<Code>RequestLimitExceeded</Code>');
  });
});
