import { generateSshIdentity } from '@mantle/cluster';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { specUnavailable } from '../src/specs/locate.js';
import { doFetch, pollUntil } from './support/do.js';

// Every endpoint of the DigitalOcean emulator through plain fetch, with the API state only (`none`
// machines): each request and answer is checked against DigitalOcean's spec (no violation allowed).

const unavailable = specUnavailable('digitalocean');
if (unavailable) console.log(`the DigitalOcean emulator runs unchecked: ${unavailable}`);

let emulator: DoEmulator;
let api: ReturnType<typeof doFetch>;
const lines: string[] = [];

beforeAll(async () => {
  emulator = await startDoEmulator({
    machines: 'none',
    timing: { bootMs: 150, actionMs: 100, importMs: 50 },
    log: (line) => lines.push(line),
  });
  api = doFetch(emulator);
});
afterAll(() => emulator?.stop());
afterEach(() => expectNoViolations(emulator));

const createBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  region: 'sfo2',
  size: 's-1vcpu-1gb',
  image: emulator.imageId,
  tags: ['mantle'],
  ...extra,
});

describe('the DigitalOcean emulator API', () => {
  it('answers the account, regions and sizes, with the rate-limit headers on every answer', async () => {
    const account = await api('GET', '/v2/account');
    expect(account.status).toBe(200);
    expect(account.body.account).toMatchObject({ droplet_limit: 25, status: 'active', email_verified: true });
    for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'])
      expect(account.headers.get(name)).toMatch(/^\d+$/);
    const regions = await api('GET', '/v2/regions');
    expect(regions.body.regions.map((r: { slug: string }) => r.slug)).toEqual(
      expect.arrayContaining(['sfo2', 'nyc3', 'ams3']),
    );
    expect(regions.body.meta.total).toBe(regions.body.regions.length);
    const sizes = await api('GET', '/v2/sizes');
    expect(sizes.body.sizes.map((s: { slug: string }) => s.slug)).toContain('s-1vcpu-1gb');
    const remaining = Number((await api('GET', '/v2/account')).headers.get('ratelimit-remaining'));
    expect(remaining).toBeLessThan(Number(account.headers.get('ratelimit-remaining')));
  });

  it('refuses a missing or wrong token with 401 unauthorized', async () => {
    for (const token of [null, 'dop_v1_wrong']) {
      const answer = await doFetch(emulator, token)('GET', '/v2/account');
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ id: 'unauthorized', message: 'Unable to authenticate you' });
      expect(answer.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers.get('ratelimit-limit')).toBe('5000');
    }
    // credentials are checked first: a body against the spec without them is 401, not 422
    const invalid = await doFetch(emulator, null)('POST', '/v2/droplets', { name: 42 });
    expect(invalid.status).toBe(401);
  });

  it("pre-registers kola's test image in every region and distribution images by slug", async () => {
    const image = await api('GET', `/v2/images/${emulator.imageId}`);
    expect(image.body.image).toMatchObject({
      id: emulator.imageId,
      name: 'kola-test-image-minimal',
      type: 'custom',
      public: false,
      status: 'available',
    });
    const regions = (await api('GET', '/v2/regions')).body.regions.map((r: { slug: string }) => r.slug);
    expect(image.body.image.regions).toEqual(regions);
    const bySlug = await api('GET', '/v2/images/ubuntu-24-04-x64');
    expect(bySlug.body.image).toMatchObject({ slug: 'ubuntu-24-04-x64', type: 'base', public: true });
    const privateOnes = await api('GET', '/v2/images?private=true');
    expect(privateOnes.body.images.map((i: { id: number }) => i.id)).toEqual([emulator.imageId]);
    const distributions = await api('GET', '/v2/images?type=distribution');
    expect(distributions.body.images.every((i: { public: boolean }) => i.public)).toBe(true);
    expect((await api('GET', '/v2/images?type=application')).body.images).toEqual([]);
    expect((await api('GET', '/v2/images?tag_name=kola')).body.images).toHaveLength(1);
    expect((await api('GET', '/v2/images/no-such-slug')).status).toBe(404);
  });

  it('creates a droplet: 202 new without addresses, then active with public, private and v6 addresses', async () => {
    const created = await api('POST', '/v2/droplets', createBody('kola-one', { ipv6: true }));
    expect(created.status).toBe(202);
    const { droplet, links } = created.body;
    expect(droplet).toMatchObject({
      name: 'kola-one',
      status: 'new',
      tags: ['mantle'],
      size_slug: 's-1vcpu-1gb',
    });
    expect(droplet.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(droplet.networks).toEqual({ v4: [], v6: [] });
    expect(links.actions[0]).toMatchObject({
      rel: 'create',
      href: `${emulator.endpoint}/v2/actions/${links.actions[0].id}`,
    });

    const statuses = new Set<string>();
    const active = await pollUntil(
      () => api('GET', `/v2/droplets/${droplet.id}`),
      (a) => {
        statuses.add(a.body.droplet.status);
        return a.body.droplet.status === 'active';
      },
    );
    expect([...statuses]).toEqual(['new', 'active']);
    const v4 = active.body.droplet.networks.v4;
    const publicV4 = v4.find((n: { type: string }) => n.type === 'public').ip_address;
    const privateV4 = v4.find((n: { type: string }) => n.type === 'private').ip_address;
    expect(publicV4).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(publicV4).not.toBe('127.0.0.1');
    expect(privateV4).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(active.body.droplet.networks.v6[0].ip_address).toMatch(/^2604:a880:/);
    expect(active.body.droplet.image.id).toBe(emulator.imageId);

    const action = await api('GET', `/v2/actions/${links.actions[0].id}`);
    expect(action.body.action).toMatchObject({
      type: 'create',
      status: 'completed',
      resource_id: droplet.id,
    });
    expect(emulator.droplets()).toContain(droplet.id);

    expect((await api('DELETE', `/v2/droplets/${droplet.id}`)).status).toBe(204);
    expect(emulator.droplets()).not.toContain(droplet.id);
    const gone = await api('GET', `/v2/droplets/${droplet.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ id: 'not_found' });
    expect((await api('DELETE', `/v2/droplets/${droplet.id}`)).status).toBe(404);
  });

  it('creates several droplets with names, lists them by tag page by page, and deletes them by tag', async () => {
    const names = ['kola-a', 'kola-b', 'kola-c', 'kola-d', 'kola-e'];
    const { name: _, ...rest } = createBody('x', { tags: ['kola-run-7'] });
    const created = await api('POST', '/v2/droplets', { ...rest, names });
    expect(created.status).toBe(202);
    expect(created.body.droplets.map((d: { name: string }) => d.name)).toEqual(names);
    expect(created.body.links.actions).toHaveLength(5);
    expect(created.body.links.actions[0].rel).toBe('multiple_create');
    await api('POST', '/v2/droplets', createBody('kola-untagged', { tags: [] }));

    const seen: string[] = [];
    let next: string | undefined = `/v2/droplets?tag_name=kola-run-7&per_page=2`;
    let pages = 0;
    while (next) {
      const page = await api('GET', next.replace(emulator.endpoint, ''));
      expect(page.body.meta.total).toBe(5);
      seen.push(...page.body.droplets.map((d: { name: string }) => d.name));
      if (pages === 0) expect(page.body.links.pages.last).toContain('page=3');
      next = page.body.links.pages.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
    expect((await api('GET', '/v2/droplets?name=kola-c')).body.droplets).toHaveLength(1);

    expect((await api('DELETE', '/v2/droplets?tag_name=kola-run-7')).status).toBe(204);
    expect((await api('GET', '/v2/droplets?tag_name=kola-run-7')).body).toMatchObject({
      droplets: [],
      meta: { total: 0 },
    });
    const left = (await api('GET', '/v2/droplets')).body.droplets;
    expect(left.map((d: { name: string }) => d.name)).toEqual(['kola-untagged']);
    await api('DELETE', `/v2/droplets/${left[0].id}`);
  });

  it('refuses creates the real API refuses, with 422 unprocessable_entity and nothing made', async () => {
    const before = emulator.droplets().length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [createBody('x', { region: 'mars1' }), /invalid region/],
      [createBody('x', { size: 'huge' }), /invalid size/],
      [createBody('x', { image: 999 }), /invalid image/],
      [createBody('x', { image: 'coreos-stable' }), /invalid image/],
      [createBody('x', { ssh_keys: [424242] }), /invalid SSH key/],
      [createBody('x', { user_data: 'x'.repeat(65 * 1024) }), /64 KiB/],
      [createBody('x', { tags: ['not a tag'] }), /invalid/],
    ];
    for (const [body, message] of cases) {
      const answer = await api('POST', '/v2/droplets', body);
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(answer.body.id).toBe('unprocessable_entity');
      expect(answer.body.message).toMatch(message);
    }
    const { name: _, ...rest } = createBody('x');
    const tooMany = await api('POST', '/v2/droplets', {
      ...rest,
      names: Array.from({ length: 26 }, (_, i) => `n${i}`),
    });
    expect(tooMany.status).toBe(422);
    expect(emulator.droplets().length).toBe(before);

    // against the spec: refused before any route runs, and recorded
    const noSize = await api('POST', '/v2/droplets', { name: 'x', image: emulator.imageId });
    expect(noSize.status).toBe(422);
    expect(noSize.body.message).toContain("must have required property 'size'");
    expect(emulator.takeViolations().map((v) => v.kind)).toEqual(['request']);
  });

  it('runs droplet actions: power_off → off, power_on → active, reboot, one pending event at a time', async () => {
    const { droplet } = (await api('POST', '/v2/droplets', createBody('kola-actions'))).body;
    const early = await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'power_off' });
    expect(early.status).toBe(422);
    await pollUntil(
      () => api('GET', `/v2/droplets/${droplet.id}`),
      (a) => a.body.droplet.status === 'active',
    );
    const off = await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'power_off' });
    expect(off.status).toBe(201);
    expect(off.body.action).toMatchObject({
      type: 'power_off',
      status: 'in-progress',
      resource_type: 'droplet',
      region_slug: 'sfo2',
    });
    const busy = await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'power_on' });
    expect(busy.status).toBe(422);
    expect(busy.body.message).toBe('Droplet already has a pending event.');
    const done = await pollUntil(
      () => api('GET', `/v2/droplets/${droplet.id}/actions/${off.body.action.id}`),
      (a) => a.body.action.status !== 'in-progress',
    );
    expect(done.body.action.status).toBe('completed');
    expect(done.body.action.completed_at).toMatch(/Z$/);
    expect((await api('GET', `/v2/droplets/${droplet.id}`)).body.droplet.status).toBe('off');
    expect((await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'shutdown' })).status).toBe(422);

    const on = await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'power_on' });
    await pollUntil(
      () => api('GET', `/v2/actions/${on.body.action.id}`),
      (a) => a.body.action.status === 'completed',
    );
    expect((await api('GET', `/v2/droplets/${droplet.id}`)).body.droplet.status).toBe('active');
    const reboot = await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'reboot' });
    expect(reboot.status).toBe(201);
    const listed = await api('GET', `/v2/droplets/${droplet.id}/actions`);
    expect(listed.body.actions.map((a: { type: string }) => a.type)).toEqual([
      'reboot',
      'power_on',
      'power_off',
      'create',
    ]);
    expect(
      (await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'resize', size: 's-2vcpu-2gb' }))
        .status,
    ).toBe(422);
    expect((await api('GET', `/v2/droplets/${droplet.id}/actions/1`)).status).toBe(404);
    await api('DELETE', `/v2/droplets/${droplet.id}`);
  });

  it('snapshots a droplet into a private image that later droplets boot, listed as a snapshot too', async () => {
    const { droplet } = (await api('POST', '/v2/droplets', createBody('kola-snap'))).body;
    await pollUntil(
      () => api('GET', `/v2/droplets/${droplet.id}`),
      (a) => a.body.droplet.status === 'active',
    );
    const off = await api('POST', `/v2/droplets/${droplet.id}/actions`, { type: 'power_off' });
    await pollUntil(
      () => api('GET', `/v2/actions/${off.body.action.id}`),
      (a) => a.body.action.status === 'completed',
    );
    const snap = await api('POST', `/v2/droplets/${droplet.id}/actions`, {
      type: 'snapshot',
      name: 'kola-snap-1',
    });
    expect(snap.status).toBe(201);
    // not an image until the action completes
    expect((await api('GET', '/v2/snapshots')).body.snapshots).toEqual([]);
    await pollUntil(
      () => api('GET', `/v2/actions/${snap.body.action.id}`),
      (a) => a.body.action.status === 'completed',
    );
    const snapshots = (await api('GET', '/v2/snapshots')).body.snapshots;
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({
      name: 'kola-snap-1',
      resource_type: 'droplet',
      resource_id: String(droplet.id),
      regions: ['sfo2'],
    });
    const imageId = Number(snapshots[0].id);
    expect((await api('GET', `/v2/images/${imageId}`)).body.image).toMatchObject({
      type: 'snapshot',
      status: 'available',
    });
    expect((await api('GET', `/v2/droplets/${droplet.id}`)).body.droplet.snapshot_ids).toEqual([imageId]);
    expect((await api('GET', `/v2/snapshots/${imageId}`)).body.snapshot.name).toBe('kola-snap-1');
    expect((await api('GET', '/v2/snapshots?resource_type=volume')).body.snapshots).toEqual([]);

    const fromSnapshot = await api('POST', '/v2/droplets', createBody('kola-from-snap', { image: imageId }));
    expect(fromSnapshot.status).toBe(202);
    expect(fromSnapshot.body.droplet.image.id).toBe(imageId);
    // only in the snapshot's region until it is transferred
    expect(
      (await api('POST', '/v2/droplets', createBody('x', { image: imageId, region: 'nyc3' }))).status,
    ).toBe(422);
    const transfer = await api('POST', `/v2/images/${imageId}/actions`, { type: 'transfer', region: 'nyc3' });
    expect(transfer.status).toBe(201);
    expect(transfer.body.action).toMatchObject({
      type: 'transfer',
      resource_type: 'image',
      status: 'in-progress',
    });
    await pollUntil(
      () => api('GET', `/v2/images/${imageId}/actions/${transfer.body.action.id}`),
      (a) => a.body.action.status === 'completed',
    );
    expect((await api('GET', `/v2/images/${imageId}`)).body.image.regions).toEqual(['sfo2', 'nyc3']);
    expect((await api('POST', `/v2/images/${imageId}/actions`, { type: 'convert' })).status).toBe(422);

    await api('DELETE', `/v2/droplets/${droplet.id}`);
    await api('DELETE', `/v2/droplets/${fromSnapshot.body.droplet.id}`);
    expect((await api('DELETE', `/v2/snapshots/${imageId}`)).status).toBe(204);
    expect((await api('GET', `/v2/images/${imageId}`)).status).toBe(404);
    expect((await api('GET', `/v2/snapshots/${imageId}`)).status).toBe(404);
  });

  it("updates and deletes private images; public ones are not the account's", async () => {
    const updated = await api('PUT', `/v2/images/${emulator.imageId}`, { description: 'renamed by a test' });
    expect(updated.status).toBe(200);
    expect(updated.body.image.description).toBe('renamed by a test');
    const ubuntu = (await api('GET', '/v2/images/ubuntu-24-04-x64')).body.image;
    expect((await api('DELETE', `/v2/images/${ubuntu.id}`)).status).toBe(403);
    expect((await api('PUT', `/v2/images/${ubuntu.id}`, { name: 'mine' })).status).toBe(403);
    expect((await api('DELETE', '/v2/images/999')).status).toBe(404);
  });

  it('keeps SSH keys: fingerprint as DigitalOcean computes it, by id or fingerprint, no duplicates', async () => {
    const identity = generateSshIdentity();
    const created = await api('POST', '/v2/account/keys', {
      name: 'kola-flight',
      public_key: identity.publicKey,
    });
    expect(created.status).toBe(201);
    const key = created.body.ssh_key;
    expect(key.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect((await api('GET', `/v2/account/keys/${key.id}`)).body.ssh_key.name).toBe('kola-flight');
    expect((await api('GET', `/v2/account/keys/${key.fingerprint}`)).body.ssh_key.id).toBe(key.id);
    const again = await api('POST', '/v2/account/keys', { name: 'again', public_key: identity.publicKey });
    expect(again.status).toBe(422);
    expect(again.body.message).toBe('SSH Key is already in use on your account');
    const bad = await api('POST', '/v2/account/keys', { name: 'bad', public_key: 'not a key' });
    expect(bad.status).toBe(422);
    expect(
      (await api('PUT', `/v2/account/keys/${key.fingerprint}`, { name: 'renamed' })).body.ssh_key.name,
    ).toBe('renamed');
    expect((await api('GET', '/v2/account/keys')).body).toMatchObject({
      ssh_keys: [{ id: key.id }],
      meta: { total: 1 },
    });

    // a droplet's keys, by id or fingerprint
    const withKeys = await api(
      'POST',
      '/v2/droplets',
      createBody('kola-keys', { ssh_keys: [key.id, key.fingerprint] }),
    );
    expect(withKeys.status).toBe(202);
    await api('DELETE', `/v2/droplets/${withKeys.body.droplet.id}`);

    expect((await api('DELETE', `/v2/account/keys/${key.id}`)).status).toBe(204);
    expect((await api('GET', `/v2/account/keys/${key.id}`)).status).toBe(404);
    expect((await api('DELETE', `/v2/account/keys/${key.fingerprint}`)).status).toBe(404);
  });

  it('keeps tags: create, tag resources, count them, delete (untagging everything)', async () => {
    const created = await api('POST', '/v2/tags', { name: 'kola-test:one' });
    expect(created.status).toBe(201);
    expect(created.body.tag).toMatchObject({
      name: 'kola-test:one',
      resources: { count: 0, droplets: { count: 0 } },
    });
    expect((await api('POST', '/v2/tags', { name: 'kola-test:one' })).status).toBe(201);
    const { droplet } = (await api('POST', '/v2/droplets', createBody('kola-tagged', { tags: [] }))).body;
    const assigned = await api('POST', '/v2/tags/kola-test:one/resources', {
      resources: [
        { resource_id: String(droplet.id), resource_type: 'droplet' },
        { resource_id: String(emulator.imageId), resource_type: 'image' },
      ],
    });
    expect(assigned.status).toBe(204);
    const tag = (await api('GET', '/v2/tags/kola-test:one')).body.tag;
    expect(tag.resources).toMatchObject({ count: 2, droplets: { count: 1 }, images: { count: 1 } });
    expect(tag.resources.droplets.last_tagged_uri).toBe(`${emulator.endpoint}/v2/droplets/${droplet.id}`);
    expect((await api('GET', '/v2/droplets?tag_name=kola-test:one')).body.droplets).toHaveLength(1);
    expect((await api('GET', '/v2/tags')).body.tags.map((t: { name: string }) => t.name)).toContain(
      'kola-test:one',
    );
    const missing = await api('POST', '/v2/tags/kola-test:one/resources', {
      resources: [{ resource_id: '1', resource_type: 'droplet' }],
    });
    expect(missing.status).toBe(404);

    expect((await api('DELETE', '/v2/tags/kola-test:one')).status).toBe(204);
    expect((await api('GET', '/v2/tags/kola-test:one')).status).toBe(404);
    expect((await api('GET', `/v2/droplets/${droplet.id}`)).body.droplet.tags).toEqual([]);
    expect((await api('GET', `/v2/images/${emulator.imageId}`)).body.image.tags).toEqual(['kola']);
    expect((await api('POST', '/v2/tags/nope/resources', { resources: [] })).status).toBe(404);
    await api('DELETE', `/v2/droplets/${droplet.id}`);
  });

  it('counts calls per operation id', () => {
    const counts = emulator.requests.counts();
    expect(counts.get('droplets_create')).toBeGreaterThan(5);
    expect(counts.get('account_get')).toBeGreaterThan(2);
  });
});

describe('the DigitalOcean emulator under faults', () => {
  it("answers DigitalOcean's 429 too_many_requests with the rate-limit headers, and 5xx", async () => {
    const faulty = await startDoEmulator({
      machines: 'none',
      faults: { rate: 1, seed: 3, kinds: ['throttle', 'server-error'] },
    });
    try {
      const call = doFetch(faulty);
      const answers = await Promise.all(Array.from({ length: 12 }, () => call('GET', '/v2/account')));
      const throttled = answers.filter((a) => a.status === 429);
      expect(throttled.length).toBeGreaterThan(0);
      for (const a of throttled) {
        expect(a.body).toMatchObject({ id: 'too_many_requests' });
        expect(a.headers.get('ratelimit-remaining')).toBe('0');
        expect(Number(a.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      }
      const failed = answers.filter((a) => a.status >= 500);
      expect(failed.length).toBeGreaterThan(0);
      for (const a of failed) expect(['server_error', 'service_unavailable']).toContain(a.body.id);
      expect(throttled.length + failed.length).toBe(12);
      expect(faulty.api.faultsInjected().get('throttle')).toBe(throttled.length);
      expectNoViolations(faulty);
    } finally {
      await faulty.stop();
    }
  });
});
