import type { MetadataHandler, MetadataRequest, MetadataResponse } from '../machines/backend.js';

/** What DigitalOcean's metadata service tells one droplet about itself (read at every request). */
export interface DoMetadataDroplet {
  id: number;
  hostname: string;
  /** As given to the create call, unchanged. */
  userData: string | undefined;
  vendorData: string;
  /** The droplet's SSH keys (its `ssh_keys`), one OpenSSH line each. */
  publicKeys: readonly string[];
  region: string;
  tags: readonly string[];
  /** Undefined until the droplet has one (its machine has started). */
  publicIpv4: string | undefined;
  privateIpv4: string;
  privateNetmask: string;
  publicIpv6: string | undefined;
}

/** The vendor-data DigitalOcean gives every droplet (a cloud-config for cloud-init images). */
export const doVendorData =
  '#cloud-config\ndisable_root: false\nmanage_etc_hosts: true\n\ncloud_config_modules:\n - ssh\n - set_hostname\n - [ update_etc_hosts, once-per-instance ]\n';

const nameservers = ['67.207.67.2', '67.207.67.3'];

/** A locally administered MAC from an address: stable for the droplet's life. */
function macOf(address: string): string {
  const octets = address.split('.').map(Number);
  return ['02', ...octets.slice(0, 4).map((o) => (o & 255).toString(16).padStart(2, '0')), '01'].join(':');
}

type Tree = { [name: string]: string | Tree };

/** The service's tree: a string is a data endpoint, an object an index (listed with a trailing slash). */
function treeOf(d: DoMetadataDroplet): Tree {
  const publicIface: Tree = {
    mac: macOf(d.publicIpv4 ?? '0.0.0.0'),
    type: 'public',
    ipv4: { address: d.publicIpv4 ?? '', netmask: '255.0.0.0', gateway: '127.0.0.1' },
    anchor_ipv4: {
      address: d.privateIpv4.replace(/^10\./, '10.20.'),
      netmask: '255.255.0.0',
      gateway: '10.20.0.1',
    },
  };
  if (d.publicIpv6)
    publicIface.ipv6 = { address: d.publicIpv6, cidr: '64', gateway: ipv6Gateway(d.publicIpv6) };
  const tree: Tree = {
    id: String(d.id),
    hostname: d.hostname,
    'vendor-data': d.vendorData,
    'public-keys': d.publicKeys.join('\n'),
    region: d.region,
    interfaces: {
      public: { '0': publicIface },
      private: {
        '0': {
          mac: macOf(d.privateIpv4),
          type: 'private',
          ipv4: { address: d.privateIpv4, netmask: d.privateNetmask, gateway: '' },
        },
      },
    },
    dns: { nameservers: nameservers.join('\n') },
    floating_ip: { ipv4: { active: 'false' } },
    reserved_ip: { ipv4: { active: 'false' } },
    // an index whose entries are the tag names
    tags: Object.fromEntries(d.tags.map((tag) => [tag, tag])),
    features: { dhcp_enabled: 'false' },
  };
  if (d.userData !== undefined) tree['user-data'] = d.userData;
  return tree;
}

const ipv6Gateway = (address: string) => address.replace(/:[0-9a-f]*:[0-9a-f]*$/i, '::1');

/** /metadata/v1.json: the whole tree at once, in the service's JSON names. */
function allJson(d: DoMetadataDroplet) {
  const publicIface: Record<string, unknown> = {
    ipv4: { ip_address: d.publicIpv4 ?? '', netmask: '255.0.0.0', gateway: '127.0.0.1' },
    anchor_ipv4: {
      ip_address: d.privateIpv4.replace(/^10\./, '10.20.'),
      netmask: '255.255.0.0',
      gateway: '10.20.0.1',
    },
    mac: macOf(d.publicIpv4 ?? '0.0.0.0'),
    type: 'public',
  };
  if (d.publicIpv6)
    publicIface.ipv6 = { ip_address: d.publicIpv6, cidr: 64, gateway: ipv6Gateway(d.publicIpv6) };
  return {
    droplet_id: d.id,
    hostname: d.hostname,
    ...(d.userData !== undefined ? { user_data: d.userData } : {}),
    vendor_data: d.vendorData,
    public_keys: d.publicKeys,
    auth_key: '',
    region: d.region,
    interfaces: {
      public: d.publicIpv4 ? [publicIface] : [],
      private: [
        {
          ipv4: { ip_address: d.privateIpv4, netmask: d.privateNetmask, gateway: '' },
          mac: macOf(d.privateIpv4),
          type: 'private',
        },
      ],
    },
    floating_ip: { ipv4: { active: false } },
    reserved_ip: { ipv4: { active: false } },
    dns: { nameservers },
    tags: d.tags,
    features: { dhcp_enabled: false },
  };
}

const text = (body: string, status = 200, headers: Record<string, string> = {}): MetadataResponse => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
  body,
});
const notFound = () => text('not found\n', 404);

/**
 * DigitalOcean's droplet metadata service at 169.254.169.254 (`/metadata/v1/…`, plain text; an index
 * lists its entries, with a trailing slash on nested indexes, and answers 301 to its name without
 * one; `/metadata/v1.json` is the whole tree). Ignition's digitalocean provider GETs
 * `/metadata/v1/user-data` (404 when the droplet has none); Afterburn reads `/metadata/v1.json`.
 */
export function createDoMetadataHandler(
  droplet: () => DoMetadataDroplet,
): MetadataHandler & { requests: string[] } {
  const requests: string[] = [];
  const handler = (req: MetadataRequest): MetadataResponse => {
    requests.push(`${req.method} ${req.path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text('method not allowed\n', 405);
    const path = req.path.split('?')[0] ?? '/';
    const d = droplet();
    if (path === '/metadata/v1.json')
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(allJson(d)),
      };
    const m = /^\/metadata\/v1(\/.*)?$/.exec(path);
    if (!m) return notFound();
    const rest = m[1] ?? '';
    const segments = rest.split('/').filter(Boolean);
    let node: string | Tree = treeOf(d);
    for (const segment of segments) {
      if (typeof node === 'string') return notFound();
      const next: string | Tree | undefined = node[segment];
      if (next === undefined) return notFound();
      node = next;
    }
    if (typeof node === 'string') return rest.endsWith('/') ? notFound() : text(node);
    // the top index answers with or without its slash (as the docs' own example calls it)
    if (rest !== '' && !rest.endsWith('/'))
      return text('', 301, { location: `http://169.254.169.254/metadata/v1${rest}/` });
    return text(
      Object.entries(node)
        .map(([name, value]) => (typeof value === 'string' ? name : `${name}/`))
        .join('\n'),
    );
  };
  return Object.assign(handler, { requests });
}
