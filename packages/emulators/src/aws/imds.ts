import { randomBytes } from 'node:crypto';
import type { MetadataHandler, MetadataRequest, MetadataResponse } from '../machines/backend.js';

/** What EC2's instance metadata service tells one instance about itself. */
export interface ImdsInstance {
  instanceId: string;
  /** As given to RunInstances (decoded from its base64). */
  userData?: Buffer;
  /** The key pair's public key, `openssh-key` of public-keys/0. */
  keyName?: string;
  publicKey?: string;
  localIpv4: string;
  publicIpv4: string;
  region: string;
  instanceType: string;
  amiId: string;
}

const tokenHeader = 'x-aws-ec2-metadata-token';
const ttlHeader = 'x-aws-ec2-metadata-token-ttl-seconds';

const text = (body: string, status = 200): MetadataResponse => ({
  status,
  headers: { 'content-type': 'text/plain' },
  body,
});

/**
 * The instance identity document (dynamic/instance-identity/document): the AWS SDK's metadata
 * client reads the region from it, as Ignition's aws provider does before it fetches S3 URLs.
 */
function identityDocument(instance: ImdsInstance, pendingTime: string) {
  return {
    accountId: '123456789012',
    architecture: 'x86_64',
    availabilityZone: `${instance.region}a`,
    imageId: instance.amiId,
    instanceId: instance.instanceId,
    instanceType: instance.instanceType,
    pendingTime,
    privateIp: instance.localIpv4,
    region: instance.region,
    version: '2017-09-30',
  };
}

/**
 * IMDS as EC2 serves it at 169.254.169.254: IMDSv1 (plain GETs) and the IMDSv2 flow (PUT
 * /latest/api/token with a TTL, then the token on every GET; a wrong token is 401). Any API version
 * in the path (`latest`, `2019-10-01`, …) answers the same, as EC2 does for the keys served here.
 */
export function createImdsHandler(instance: ImdsInstance): MetadataHandler & { requests: string[] } {
  const tokens = new Map<string, number>();
  const requests: string[] = [];
  const launched = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const handler = (req: MetadataRequest): MetadataResponse => {
    requests.push(`${req.method} ${req.path}`);
    const path = req.path.split('?')[0] ?? '/';
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return text('', 405);
      const ttl = Number(req.headers[ttlHeader]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text('', 400);
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, Date.now() + ttl * 1000);
      return {
        status: 200,
        headers: { 'content-type': 'text/plain', [ttlHeader]: String(ttl) },
        body: token,
      };
    }
    if (req.method !== 'GET') return text('', 405);
    const token = req.headers[tokenHeader];
    if (token !== undefined && !((tokens.get(token) ?? 0) > Date.now())) return text('', 401);
    if (/^\/[^/]+\/dynamic\/instance-identity\/document$/.test(path))
      return {
        status: 200,
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(identityDocument(instance, launched), null, 2),
      };
    const m = /^\/[^/]+\/(user-data|meta-data)(\/.*)?$/.exec(path);
    if (!m) return text('', 404);
    if (m[1] === 'user-data')
      return instance.userData?.length
        ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: instance.userData }
        : text('', 404);
    const key = (m[2] ?? '/').replace(/^\//, '');
    const keys: Record<string, string> = {
      'instance-id': instance.instanceId,
      'local-ipv4': instance.localIpv4,
      'public-ipv4': instance.publicIpv4,
      'instance-type': instance.instanceType,
      'ami-id': instance.amiId,
      hostname: `ip-${instance.localIpv4.replaceAll('.', '-')}.${instance.region}.compute.internal`,
      'local-hostname': `ip-${instance.localIpv4.replaceAll('.', '-')}.${instance.region}.compute.internal`,
      'placement/availability-zone': `${instance.region}a`,
      'placement/region': instance.region,
    };
    if (instance.publicKey) {
      keys['public-keys/'] = `0=${instance.keyName ?? 'key'}`;
      keys['public-keys/0/'] = 'openssh-key';
      keys['public-keys/0/openssh-key'] = `${instance.publicKey.trim()}\n`;
    }
    if (key === '' || key === '/')
      return text(
        [...new Set(Object.keys(keys).map((k) => (k.includes('/') ? `${k.split('/')[0]}/` : k)))].join('\n'),
      );
    const value = keys[key] ?? keys[`${key}/`];
    return value === undefined ? text('', 404) : text(value);
  };
  return Object.assign(handler, { requests });
}
