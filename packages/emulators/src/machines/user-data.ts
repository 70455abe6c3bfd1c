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
