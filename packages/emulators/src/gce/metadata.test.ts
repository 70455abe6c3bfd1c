import { describe, expect, it } from 'vitest';
import type { MetadataResponse } from '../machines/backend.js';
import { createGceMetadataHandler, type GceMetadataView } from './metadata.js';

const view: GceMetadataView = {
  instance: {
    id: '4521870966554031',
    name: 'kola-abc',
    zone: 'us-central1-a',
    machineType: 'n1-standard-1',
    description: '',
    image: 'projects/kola-emulated/global/images/kola-test-image-minimal',
    tags: ['kola'],
    attributes: {
      'user-data': '{"ignition":{"version":"3.4.0"}}',
      'ssh-keys': 'core:ssh-ed25519 AAAAC3 kola',
    },
    networkIP: '10.128.0.7',
    network: 'default',
    mac: '42:01:0a:80:00:07',
    natIP: '127.10.3.4',
    disks: [{ deviceName: 'persistent-disk-0', index: 0, mode: 'READ_WRITE', type: 'PERSISTENT' }],
    serviceAccounts: [
      {
        email: '123-compute@developer.gserviceaccount.com',
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ],
    preemptible: false,
  },
  project: { id: 'kola-emulated', number: '123456789012', attributes: {} },
};

const google = { 'metadata-flavor': 'Google' };
const body = (r: MetadataResponse) => (Buffer.isBuffer(r.body) ? r.body.toString() : r.body);

describe('the GCE metadata server a guest sees', () => {
  const listeners = new Set<() => void>();
  const metadata = createGceMetadataHandler(() => view, {
    token: (scopes) => ({
      access_token: `ya29.test-${scopes.length}`,
      expires_in: 3599,
      token_type: 'Bearer',
    }),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  });
  const get = async (path: string, headers: Record<string, string> = google) =>
    metadata({ method: 'GET', path, headers, body: Buffer.alloc(0) });

  it("serves user-data as Ignition's gcp provider fetches it, only with Metadata-Flavor: Google", async () => {
    const r = await get('/computeMetadata/v1/instance/attributes/user-data');
    expect(r.status).toBe(200);
    expect(body(r)).toBe('{"ignition":{"version":"3.4.0"}}');
    expect(r.headers).toMatchObject({ 'metadata-flavor': 'Google', 'content-type': 'application/text' });
    const refused = await get('/computeMetadata/v1/instance/attributes/user-data', {});
    expect(refused.status).toBe(403);
    expect(body(refused)).toContain('Missing Metadata-Flavor:Google header.');
    expect(refused.headers?.['metadata-flavor']).toBe('Google');
    expect(
      (await get('/computeMetadata/v1/instance/id', { ...google, 'x-forwarded-for': '1.2.3.4' })).status,
    ).toBe(403);
    expect((await get('/computeMetadata/v1/instance/attributes/nope')).status).toBe(404);
    expect(body(await get('/'))).toBe('computeMetadata/\n');
  });

  it('answers the documented keys: id, hostname, addresses, project id', async () => {
    const text = async (path: string) => body(await get(`/computeMetadata/v1/${path}`));
    expect(await text('instance/id')).toBe('4521870966554031');
    expect(await text('instance/hostname')).toBe('kola-abc.us-central1-a.c.kola-emulated.internal');
    expect(await text('instance/network-interfaces/0/ip')).toBe('10.128.0.7');
    expect(await text('instance/network-interfaces/0/access-configs/0/external-ip')).toBe('127.10.3.4');
    expect(await text('instance/zone')).toBe('projects/123456789012/zones/us-central1-a');
    expect(await text('project/project-id')).toBe('kola-emulated');
    expect(await text('project/numeric-project-id')).toBe('123456789012');
    expect(await text('instance/attributes/')).toBe('ssh-keys\nuser-data\n');
    expect(await text('instance/network-interfaces/0/')).toMatch(/^access-configs\/\ndns-servers\n/);
  });

  it('redirects a directory without its slash; recursive=true is JSON (camelCase, attributes as given); alt=text is lines', async () => {
    const moved = await get('/computeMetadata/v1/instance/attributes?recursive=true');
    expect(moved.status).toBe(301);
    expect(moved.headers?.location).toBe('/computeMetadata/v1/instance/attributes/?recursive=true');
    const instance = JSON.parse(body(await get('/computeMetadata/v1/instance/?recursive=true'))) as {
      id: number;
      attributes: Record<string, string>;
      networkInterfaces: { accessConfigs: unknown[] }[];
      machineType: string;
    };
    expect(instance.id).toBe(4521870966554031);
    expect(instance.attributes['user-data']).toBe(view.instance.attributes['user-data']);
    expect(instance.networkInterfaces[0]?.accessConfigs[0]).toEqual({
      externalIp: '127.10.3.4',
      type: 'ONE_TO_ONE_NAT',
    });
    expect(instance.machineType).toBe('projects/123456789012/machineTypes/n1-standard-1');
    const lines = body(
      await get('/computeMetadata/v1/instance/network-interfaces/?recursive=true&alt=text'),
    ).split('\n');
    expect(lines).toContain('0/ip 10.128.0.7');
    expect(lines).toContain('0/access-configs/0/external-ip 127.10.3.4');
    expect(body(await get('/computeMetadata/v1/instance/name?alt=json'))).toBe('"kola-abc"');
  });

  it('gives the service account a token; wait_for_change answers once the value changes', async () => {
    const token = JSON.parse(body(await get('/computeMetadata/v1/instance/service-accounts/default/token')));
    expect(token).toEqual({ access_token: 'ya29.test-1', expires_in: 3599, token_type: 'Bearer' });
    const first = await get('/computeMetadata/v1/instance/attributes/ssh-keys');
    const waiting = get(
      `/computeMetadata/v1/instance/attributes/ssh-keys?wait_for_change=true&last_etag=${first.headers?.etag}`,
    );
    let settled = false;
    void waiting.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    for (const l of listeners) l(); // a notification without a change keeps it waiting
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    view.instance.attributes['ssh-keys'] = 'core:ssh-ed25519 AAAAC3 other';
    for (const l of listeners) l();
    expect(body(await waiting)).toBe('core:ssh-ed25519 AAAAC3 other');
    expect(listeners.size).toBe(0);
  });
});
