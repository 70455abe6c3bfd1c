import { randomBytes } from 'node:crypto';

/** mantle's ownership tag on every device: `ore packet gc` only ever touches these. */
export const ownerTag = 'mantle';

/** `kola-run:<run id>`: which run made a device. */
export const runTag = (runId: string) => `kola-run:${runId}`;

/** The label of a flight's key: `kola-<run>` (Packet keys have dates of their own; GC ages them by those). */
export const sshKeyLabel = (runId: string) => (runId.startsWith('kola-') ? runId : `kola-${runId}`);

/** mantle's hostname: `<cluster[0:13]>-<10 hex>`. */
export function deviceHostname(cluster: string): string {
  const prefix = cluster
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 13)
    .replace(/^-+|-+$/g, '');
  return `${prefix || 'kola'}-${randomBytes(5).toString('hex')}`;
}
