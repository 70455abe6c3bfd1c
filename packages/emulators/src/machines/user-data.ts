import type { MachineSpec, Provider } from './backend.js';

/** Where each provider's guest reads its user-data (what Ignition's provider for it fetches). */
const userDataPaths: Record<Provider, { path: string; headers?: Record<string, string> }> = {
  aws: { path: '/latest/user-data' },
  gce: {
    path: '/computeMetadata/v1/instance/attributes/user-data',
    headers: { 'metadata-flavor': 'Google' },
  },
  do: { path: '/metadata/v1/user-data' },
  packet: { path: '/userdata' },
  azure: {
    path: '/metadata/instance/compute/userData?api-version=2021-01-01&format=text',
    headers: { metadata: 'true' },
  },
  esx: { path: '/user-data' },
};

/** The user-data the instance's metadata service serves, as the guest would read it ('' when none). */
export async function fetchUserData(spec: MachineSpec): Promise<string> {
  const { path, headers = {} } = userDataPaths[spec.provider];
  const answer = await spec.metadata({ method: 'GET', path, headers, body: Buffer.alloc(0) });
  if (answer.status !== 200) return '';
  return Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : answer.body;
}

const keyPattern = /(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521))\s+AAAA[A-Za-z0-9+/]+=*/g;

/** The OpenSSH public keys a config carries (Ignition's sshAuthorizedKeys, cloud-config's keys). */
export function authorizedKeysIn(userData: string): string[] {
  return [...new Set(userData.match(keyPattern) ?? [])];
}

/**
 * The keys a guest's agent installs for `user`. GCE (google-guest-agent, Afterburn): the `ssh-keys`
 * metadata's `user:key` lines, the instance's and, unless `block-project-ssh-keys` is true, the
 * project's. DigitalOcean (Afterburn's `afterburn-sshkeys@core`): the droplet's SSH keys, the
 * metadata service's `public-keys`. Other providers' guests have no such agent: empty.
 */
export async function agentKeysFor(spec: MachineSpec, user: string): Promise<string[]> {
  if (spec.provider === 'do') {
    if (user !== 'core') return [];
    const answer = await spec.metadata({
      method: 'GET',
      path: '/metadata/v1/public-keys',
      headers: {},
      body: Buffer.alloc(0),
    });
    return answer.status === 200 ? authorizedKeysIn(String(answer.body)) : [];
  }
  if (spec.provider !== 'gce') return [];
  const read = async (path: string) => {
    const answer = await spec.metadata({
      method: 'GET',
      path: `/computeMetadata/v1/${path}`,
      headers: { 'metadata-flavor': 'Google' },
      body: Buffer.alloc(0),
    });
    if (answer.status !== 200) return '';
    return Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : answer.body;
  };
  const lines = [await read('instance/attributes/ssh-keys')];
  if ((await read('instance/attributes/block-project-ssh-keys')).trim().toLowerCase() !== 'true')
    lines.push(await read('project/attributes/ssh-keys'));
  const keys: string[] = [];
  for (const line of lines.join('\n').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.slice(0, colon).trim() !== user) continue;
    keys.push(...authorizedKeysIn(line.slice(colon + 1)));
  }
  return [...new Set(keys)];
}
