import { describe, expect, it } from 'vitest';
import { createImdsHandler } from './imds.js';

const instance = {
  instanceId: 'i-0123456789abcdef0',
  userData: Buffer.from('{"ignition":{"version":"3.4.0"}}'),
  keyName: 'kola-run',
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake kola',
  localIpv4: '172.31.16.5',
  publicIpv4: '127.10.0.2',
  region: 'us-west-2',
  instanceType: 't3.small',
  amiId: 'ami-12345678',
};

const get = (h: ReturnType<typeof createImdsHandler>, path: string, headers: Record<string, string> = {}) =>
  h({ method: 'GET', path, headers, body: Buffer.alloc(0) }) as { status: number; body: string | Buffer };

describe('EC2 instance metadata (IMDS)', () => {
  it('serves user-data, keys, id and addresses over IMDSv1, under any API version', () => {
    const h = createImdsHandler(instance);
    expect(String(get(h, '/latest/user-data').body)).toBe('{"ignition":{"version":"3.4.0"}}');
    expect(String(get(h, '/2019-10-01/user-data').body)).toBe('{"ignition":{"version":"3.4.0"}}');
    expect(get(h, '/latest/meta-data/instance-id').body).toBe('i-0123456789abcdef0');
    expect(get(h, '/latest/meta-data/local-ipv4').body).toBe('172.31.16.5');
    expect(get(h, '/latest/meta-data/public-ipv4').body).toBe('127.10.0.2');
    expect(get(h, '/latest/meta-data/public-keys/').body).toBe('0=kola-run');
    expect(get(h, '/latest/meta-data/public-keys/0/openssh-key').body).toBe(`${instance.publicKey}\n`);
    expect(get(h, '/latest/meta-data/').body).toContain('public-keys/');
    expect(get(h, '/latest/meta-data/no-such-key').status).toBe(404);
  });

  it('runs the IMDSv2 token flow: PUT a token with a TTL, then GETs with it; a bad token is 401', () => {
    const h = createImdsHandler(instance);
    const token = h({
      method: 'PUT',
      path: '/latest/api/token',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
      body: Buffer.alloc(0),
    }) as { status: number; body: string };
    expect(token.status).toBe(200);
    expect(token.body.length).toBeGreaterThan(20);
    expect(get(h, '/latest/user-data', { 'x-aws-ec2-metadata-token': token.body }).status).toBe(200);
    expect(get(h, '/latest/user-data', { 'x-aws-ec2-metadata-token': 'forged' }).status).toBe(401);
    const noTtl = h({ method: 'PUT', path: '/latest/api/token', headers: {}, body: Buffer.alloc(0) });
    expect((noTtl as { status: number }).status).toBe(400);
    expect(h.requests).toContain('PUT /latest/api/token');
  });

  it('serves the instance identity document the SDK reads the region from', () => {
    const h = createImdsHandler(instance);
    const doc = JSON.parse(String(get(h, '/latest/dynamic/instance-identity/document').body));
    expect(doc).toMatchObject({
      region: 'us-west-2',
      availabilityZone: 'us-west-2a',
      instanceId: 'i-0123456789abcdef0',
      instanceType: 't3.small',
      imageId: 'ami-12345678',
      privateIp: '172.31.16.5',
    });
    expect(get(h, '/latest/dynamic/instance-identity/pkcs7').status).toBe(404);
  });

  it('has no user-data (404) for an instance launched without it', () => {
    const h = createImdsHandler({ ...instance, userData: undefined });
    expect(get(h, '/latest/user-data').status).toBe(404);
  });
});
