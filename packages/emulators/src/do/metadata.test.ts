import { describe, expect, it } from 'vitest';
import { createDoMetadataHandler, type DoMetadataDroplet, doVendorData } from './metadata.js';

const droplet: DoMetadataDroplet = {
  id: 512000001,
  hostname: 'kola-1',
  userData: '{"ignition":{"version":"3.4.0"}}',
  vendorData: doVendorData,
  publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake one', 'ssh-rsa AAAAB3NzaFake two'],
  region: 'sfo2',
  tags: ['mantle', 'kola-run:1'],
  publicIpv4: '127.10.4.5',
  privateIpv4: '10.112.0.2',
  privateNetmask: '255.255.0.0',
  publicIpv6: '2604:a880:3:d0::1:1',
};

const get = (h: ReturnType<typeof createDoMetadataHandler>, path: string) =>
  h({ method: 'GET', path, headers: {}, body: Buffer.alloc(0) }) as {
    status: number;
    headers: Record<string, string>;
    body: string;
  };

describe("DigitalOcean's droplet metadata service", () => {
  it('serves the data endpoints Ignition, Afterburn and cloud-init read', () => {
    const h = createDoMetadataHandler(() => droplet);
    expect(get(h, '/metadata/v1/user-data').body).toBe('{"ignition":{"version":"3.4.0"}}');
    expect(get(h, '/metadata/v1/id').body).toBe('512000001');
    expect(get(h, '/metadata/v1/hostname').body).toBe('kola-1');
    expect(get(h, '/metadata/v1/region').body).toBe('sfo2');
    expect(get(h, '/metadata/v1/vendor-data').body).toBe(doVendorData);
    expect(get(h, '/metadata/v1/public-keys').body).toBe(droplet.publicKeys.join('\n'));
    expect(get(h, '/metadata/v1/interfaces/public/0/ipv4/address').body).toBe('127.10.4.5');
    expect(get(h, '/metadata/v1/interfaces/private/0/ipv4/address').body).toBe('10.112.0.2');
    expect(get(h, '/metadata/v1/interfaces/private/0/ipv4/netmask').body).toBe('255.255.0.0');
    expect(get(h, '/metadata/v1/interfaces/public/0/ipv6/address').body).toBe('2604:a880:3:d0::1:1');
    expect(get(h, '/metadata/v1/interfaces/public/0/type').body).toBe('public');
    expect(get(h, '/metadata/v1/dns/nameservers').body).toBe('67.207.67.2\n67.207.67.3');
    expect(get(h, '/metadata/v1/floating_ip/ipv4/active').body).toBe('false');
    expect(get(h, '/metadata/v1/user-data').headers['content-type']).toMatch(/^text\/plain/);
    expect(h.requests).toContain('GET /metadata/v1/user-data');
  });

  it('lists indexes (nested ones with a trailing slash) and redirects an index named without one', () => {
    const h = createDoMetadataHandler(() => droplet);
    const top = get(h, '/metadata/v1/').body.split('\n');
    expect(top).toEqual(
      expect.arrayContaining([
        'id',
        'hostname',
        'user-data',
        'vendor-data',
        'public-keys',
        'region',
        'interfaces/',
        'dns/',
        'tags/',
      ]),
    );
    expect(get(h, '/metadata/v1').body).toBe(get(h, '/metadata/v1/').body);
    expect(get(h, '/metadata/v1/interfaces/').body).toBe('public/\nprivate/');
    expect(get(h, '/metadata/v1/interfaces/public/').body).toBe('0/');
    expect(get(h, '/metadata/v1/interfaces/public/0/ipv4/').body).toBe('address\nnetmask\ngateway');
    expect(get(h, '/metadata/v1/tags/').body).toBe('mantle\nkola-run:1');
    const moved = get(h, '/metadata/v1/interfaces');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('http://169.254.169.254/metadata/v1/interfaces/');
    expect(get(h, '/metadata/v1/hostname/').status).toBe(404);
    expect(get(h, '/metadata/v1/no-such-thing').status).toBe(404);
    expect(get(h, '/latest/user-data').status).toBe(404);
  });

  it('serves the whole tree as /metadata/v1.json, in the names the Go client decodes', () => {
    const h = createDoMetadataHandler(() => droplet);
    const all = JSON.parse(get(h, '/metadata/v1.json').body);
    expect(all).toMatchObject({
      droplet_id: 512000001,
      hostname: 'kola-1',
      user_data: droplet.userData,
      vendor_data: doVendorData,
      public_keys: droplet.publicKeys,
      region: 'sfo2',
      tags: droplet.tags,
      dns: { nameservers: ['67.207.67.2', '67.207.67.3'] },
      interfaces: {
        public: [
          {
            type: 'public',
            ipv4: { ip_address: '127.10.4.5' },
            ipv6: { ip_address: droplet.publicIpv6, cidr: 64 },
          },
        ],
        private: [{ type: 'private', ipv4: { ip_address: '10.112.0.2', netmask: '255.255.0.0' } }],
      },
    });
  });

  it('reads the droplet at every request: no user-data is 404, no public address yet is none', () => {
    let current: DoMetadataDroplet = {
      ...droplet,
      userData: undefined,
      publicIpv4: undefined,
      publicIpv6: undefined,
    };
    const h = createDoMetadataHandler(() => current);
    expect(get(h, '/metadata/v1/user-data').status).toBe(404);
    expect(get(h, '/metadata/v1/').body.split('\n')).not.toContain('user-data');
    expect(JSON.parse(get(h, '/metadata/v1.json').body).interfaces.public).toEqual([]);
    current = droplet;
    expect(get(h, '/metadata/v1/interfaces/public/0/ipv4/address').body).toBe('127.10.4.5');
    const put = h({ method: 'PUT', path: '/metadata/v1/id', headers: {}, body: Buffer.alloc(0) });
    expect((put as { status: number }).status).toBe(405);
  });
});
