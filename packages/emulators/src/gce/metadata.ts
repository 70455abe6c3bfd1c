import { createHash } from 'node:crypto';
import type { MetadataHandler, MetadataRequest, MetadataResponse } from '../machines/backend.js';

/** What the metadata server tells one instance about itself and its project (read live: setMetadata shows). */
export interface GceMetadataView {
  instance: {
    id: string;
    name: string;
    zone: string;
    machineType: string;
    description: string;
    image: string;
    tags: string[];
    /** The instance's metadata items (user-data, ssh-keys…), as given to the API. */
    attributes: Record<string, string>;
    networkIP: string;
    network: string;
    mac: string;
    /** accessConfigs[0].natIP, when the instance has an external address. */
    natIP: string | undefined;
    disks: { deviceName: string; index: number; mode: string; type: string }[];
    serviceAccounts: { email: string; scopes: string[] }[];
    preemptible: boolean;
  };
  project: { id: string; number: string; attributes: Record<string, string> };
}

export interface GceMetadataOptions {
  /** An access token for the instance's service account (`service-accounts/default/token`). */
  token?: (scopes: string[]) => { access_token: string; expires_in: number; token_type: string };
  /** Called with a listener each time metadata may have changed (for `wait_for_change`); returns unsubscribe. */
  subscribe?: (listener: () => void) => () => void;
}

class Leaf {
  constructor(
    readonly text: string,
    readonly json: unknown = text,
  ) {}
}
interface Dir {
  entries: Map<string, Node>;
  /** Its JSON is an array (network-interfaces/0/, disks/0/…). */
  array?: boolean;
  /** User-defined keys (attributes/): kept as they are in JSON, not camelCased. */
  verbatim?: boolean;
}
type Node = Leaf | Dir;

const dir = (entries: Record<string, Node>, flags: Omit<Dir, 'entries'> = {}): Dir => ({
  entries: new Map(Object.entries(entries)),
  ...flags,
});
const list = (items: Node[]): Dir => ({ entries: new Map(items.map((n, i) => [String(i), n])), array: true });
/** Listed in key order, as the metadata server lists them. */
const attributes = (items: Record<string, string>): Dir =>
  dir(
    Object.fromEntries(
      Object.entries(items)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, new Leaf(v)]),
    ),
    { verbatim: true },
  );
const scopesLeaf = (scopes: string[]) => new Leaf(scopes.map((s) => `${s}\n`).join(''), scopes);

function tree(view: GceMetadataView): Dir {
  const { instance: i, project: p } = view;
  const accounts: Record<string, Node> = {};
  i.serviceAccounts.forEach((account, n) => {
    const entry = dir({
      aliases: new Leaf('default\n'),
      email: new Leaf(account.email),
      scopes: scopesLeaf(account.scopes),
    });
    accounts[account.email] = entry;
    if (n === 0) accounts.default = entry;
  });
  const nic = dir({
    'access-configs': list(
      i.natIP ? [dir({ 'external-ip': new Leaf(i.natIP), type: new Leaf('ONE_TO_ONE_NAT') })] : [],
    ),
    'dns-servers': new Leaf('169.254.169.254\n', ['169.254.169.254']),
    'forwarded-ips': list([]),
    gateway: new Leaf(i.networkIP.replace(/\.\d+$/, '.1')),
    ip: new Leaf(i.networkIP),
    'ip-aliases': list([]),
    mac: new Leaf(i.mac),
    mtu: new Leaf('1460', 1460),
    network: new Leaf(`projects/${p.number}/networks/${i.network}`),
    subnetmask: new Leaf('255.255.240.0'),
    'target-instance-ips': list([]),
  });
  const instance = dir({
    attributes: attributes(i.attributes),
    'cpu-platform': new Leaf('Intel Broadwell'),
    description: new Leaf(i.description),
    disks: list(
      i.disks.map((d) =>
        dir({
          'device-name': new Leaf(d.deviceName),
          index: new Leaf(String(d.index), d.index),
          interface: new Leaf('SCSI'),
          mode: new Leaf(d.mode),
          type: new Leaf(d.type),
        }),
      ),
    ),
    hostname: new Leaf(`${i.name}.${i.zone}.c.${p.id}.internal`),
    id: new Leaf(i.id, Number(i.id)),
    image: new Leaf(i.image),
    'machine-type': new Leaf(`projects/${p.number}/machineTypes/${i.machineType}`),
    'maintenance-event': new Leaf('NONE'),
    name: new Leaf(i.name),
    'network-interfaces': list([nic]),
    preempted: new Leaf('FALSE'),
    scheduling: dir({
      'automatic-restart': new Leaf(i.preemptible ? 'FALSE' : 'TRUE'),
      'on-host-maintenance': new Leaf(i.preemptible ? 'TERMINATE' : 'MIGRATE'),
      preemptible: new Leaf(i.preemptible ? 'TRUE' : 'FALSE'),
    }),
    'service-accounts': dir(accounts),
    tags: new Leaf(JSON.stringify(i.tags), i.tags),
    zone: new Leaf(`projects/${p.number}/zones/${i.zone}`),
  });
  const project = dir({
    attributes: attributes(p.attributes),
    'numeric-project-id': new Leaf(p.number, Number(p.number)),
    'project-id': new Leaf(p.id),
  });
  return dir({ instance, project });
}

const camel = (key: string) => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function toJson(node: Node, verbatim = false): unknown {
  if (node instanceof Leaf) return node.json;
  if (node.array) return [...node.entries.values()].map((child) => toJson(child));
  return Object.fromEntries(
    [...node.entries].map(([key, child]) => [
      verbatim ? key : camel(key),
      toJson(child, !(child instanceof Leaf) && child.verbatim === true),
    ]),
  );
}

/** `alt=text` of a directory, recursively: one `path value` line per leaf. */
function toText(node: Node, prefix = ''): string[] {
  if (node instanceof Leaf) return [`${prefix}${prefix ? ' ' : ''}${node.text}`.replace(/\n$/, '')];
  return [...node.entries].flatMap(([key, child]) => toText(child, prefix ? `${prefix}/${key}` : key));
}

const baseHeaders = {
  'metadata-flavor': 'Google',
  server: 'Metadata Server for VM',
  'x-xss-protection': '0',
  'x-frame-options': 'SAMEORIGIN',
};

function html(status: number, what: string): MetadataResponse {
  return {
    status,
    headers: { ...baseHeaders, 'content-type': 'text/html; charset=UTF-8' },
    body: `<!DOCTYPE html>\n<html lang=en>\n<p><b>${status}.</b> <ins>That’s an error.</ins>\n<p>${what}  <ins>That’s all we know.</ins>\n`,
  };
}

const etagOf = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 16);

/**
 * Compute Engine's metadata server as a guest sees it at 169.254.169.254 (metadata.google.internal):
 * `/computeMetadata/v1/` needs `Metadata-Flavor: Google` (403 without, and with `X-Forwarded-For`)
 * and every answer carries it; directories list their children (`name/` for directories) and
 * redirect without their slash; `?recursive=true` answers JSON (camelCased keys, attributes as given),
 * `?alt=text` lines; leaves are text (`?alt=json` quotes them); `ETag`s and `?wait_for_change=true`
 * (with `last_etag`, `timeout_sec`) as documented; `service-accounts/default/token` is a real token of
 * the emulator's API.
 */
export function createGceMetadataHandler(
  view: () => GceMetadataView,
  options: GceMetadataOptions = {},
): MetadataHandler & { requests: string[] } {
  const requests: string[] = [];
  const answer = (req: MetadataRequest): MetadataResponse => {
    const url = new URL(req.path, 'http://metadata.google.internal');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return html(
        405,
        `The request method <code>${req.method}</code> is inappropriate for the URL <code>${path}</code>.`,
      );
    if (path === '/') return text('computeMetadata/\n');
    if (path === '/computeMetadata/' || path === '/computeMetadata') return text('v1/\n');
    if (!path.startsWith('/computeMetadata/v1/') && path !== '/computeMetadata/v1')
      return html(404, `The requested URL <code>${path}</code> was not found on this server.`);
    if (req.headers['x-forwarded-for'] !== undefined)
      return html(
        403,
        `Your client does not have permission to get URL <code>${path}</code> from this server. Request had X-Forwarded-For header.`,
      );
    if (req.headers['metadata-flavor'] !== 'Google')
      return html(
        403,
        `Your client does not have permission to get URL <code>${path}</code> from this server. Missing Metadata-Flavor:Google header.`,
      );

    const root = tree(view());
    const segments = path.slice('/computeMetadata/v1'.length).split('/').filter(Boolean);
    const isDirPath = path.endsWith('/');
    let node: Node = root;
    let verbatim = false;
    for (const segment of segments) {
      const next: Node | undefined = node instanceof Leaf ? undefined : node.entries.get(segment);
      if (!next) return html(404, `The requested URL <code>${path}</code> was not found on this server.`);
      node = next;
      verbatim = !(node instanceof Leaf) && node.verbatim === true;
    }
    const query = url.searchParams;
    const recursive = query.get('recursive') === 'true';
    const alt = query.get('alt') ?? (recursive ? 'json' : 'text');
    if (node instanceof Leaf) {
      if (isDirPath) return html(404, `The requested URL <code>${path}</code> was not found on this server.`);
      return alt === 'json' ? json(node.json) : text(node.text);
    }
    if (!isDirPath)
      return {
        status: 301,
        headers: {
          ...baseHeaders,
          location: `${path}/${url.search}`,
          'content-type': 'text/html; charset=UTF-8',
        },
        body: '',
      };
    if (recursive)
      return alt === 'text' ? text(`${toText(node).join('\n')}\n`) : json(toJson(node, verbatim));
    const listing = [...node.entries].map(([key, child]) => (child instanceof Leaf ? key : `${key}/`));
    return alt === 'json' ? json(listing) : text(listing.map((l) => `${l}\n`).join(''));
  };

  const tokenAnswer = (req: MetadataRequest): MetadataResponse | undefined => {
    const url = new URL(req.path, 'http://metadata.google.internal');
    const m = /^\/computeMetadata\/v1\/instance\/service-accounts\/([^/]+)\/token$/.exec(url.pathname);
    if (!m || req.headers['metadata-flavor'] !== 'Google' || req.headers['x-forwarded-for'] !== undefined)
      return undefined;
    const accounts = view().instance.serviceAccounts;
    const account = m[1] === 'default' ? accounts[0] : accounts.find((a) => a.email === m[1]);
    if (!account || !options.token) return undefined;
    const asked = url.searchParams.get('scopes');
    return json(options.token(asked ? asked.split(',') : account.scopes));
  };

  const handler = async (req: MetadataRequest): Promise<MetadataResponse> => {
    requests.push(`${req.method} ${req.path}`);
    const token = tokenAnswer(req);
    if (token) return token;
    const first = answer(req);
    const query = new URL(req.path, 'http://metadata.google.internal').searchParams;
    if (first.status !== 200 || query.get('wait_for_change') !== 'true' || !options.subscribe) return first;
    // a hanging GET: answer once the content differs from last_etag (or from now), or at the timeout
    const start = String(first.headers?.etag);
    const last = query.get('last_etag') ?? start;
    if (last !== start) return first;
    const timeoutSec = Math.min(Number(query.get('timeout_sec') ?? '300') || 300, 3600);
    return new Promise<MetadataResponse>((resolve) => {
      let unsubscribe = () => {};
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(answer(req));
      }, timeoutSec * 1000);
      timer.unref();
      unsubscribe = options.subscribe!(() => {
        const now = answer(req);
        if (now.headers?.etag === last) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(now);
      });
    });
  };
  return Object.assign(handler, { requests });
}

function text(body: string): MetadataResponse {
  return {
    status: 200,
    headers: { ...baseHeaders, 'content-type': 'application/text', etag: etagOf(body) },
    body,
  };
}

function json(value: unknown): MetadataResponse {
  const body = JSON.stringify(value);
  return {
    status: 200,
    headers: { ...baseHeaders, 'content-type': 'application/json', etag: etagOf(body) },
    body,
  };
}
