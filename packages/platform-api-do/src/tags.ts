import { createHash, randomBytes } from 'node:crypto';
import { expiresAtTag, tagMap } from '@mantle/cluster';

/**
 * Names and tags by which kola and ore know their DigitalOcean resources. DigitalOcean tags are bare
 * names (`[A-Za-z0-9_:-]`, ≤ 255), so a key/value tag is `key:value` and GC reads it back that way.
 */

/** mantle's ownership tag on every droplet (and on ore's images): `ore do gc` only ever touches these. */
export const ownerTag = 'mantle';

/** Tag names allow letters, digits, `_`, `-` and `:`; anything else becomes `_`. */
export function tagName(text: string): string {
  return text.replace(/[^A-Za-z0-9_:-]/g, '_').slice(0, 255);
}

/** `kola-run:<run id>`: which run made a droplet, and so which flight key it uses. */
export function runTag(runId: string): string {
  return tagName(`kola-run:${runId}`);
}

/** `expires-at:2027-01-31T00:00:00Z`: what makes gc collect an image ore made. */
export function expiryTag(at: string): string {
  return tagName(`${expiresAtTag}:${at}`);
}

/** Tags as GC's flat map (the shared reader, exported here for the DO package's users). */
export { tagMap };

/** The run id of a droplet's `kola-run:` tag. */
export function runOf(tags: readonly string[] | null | undefined): string | undefined {
  return tagMap(tags)['kola-run'];
}

/**
 * SSH keys carry no tags and no creation time on DigitalOcean, so their name holds both: the owner
 * (`kola-<run id>` of a flight, `kola-ore-<hex>` of an ore helper), an optional `-fake` (the key
 * registered for clusters that want none) and `-t<unix seconds>`. GC ages keys by that stamp and
 * keeps any whose owner still has a live droplet.
 */
export function sshKeyName(owner: string, options: { fake?: boolean; now?: number } = {}): string {
  const base = tagName(owner.startsWith('kola-') ? owner : `kola-${owner}`).replace(/:/g, '_');
  const seconds = Math.floor((options.now ?? Date.now()) / 1000);
  return `${base}${options.fake ? '-fake' : ''}-t${seconds}`;
}

export interface ParsedKeyName {
  /** `kola-<run id>` */
  owner: string;
  fake: boolean;
  createdAt: Date;
}

export function parseSshKeyName(name: string): ParsedKeyName | undefined {
  const m = /^(kola-[A-Za-z0-9_.-]+?)(-fake)?-t(\d{9,11})$/.exec(name);
  if (!m) return undefined;
  return { owner: m[1]!, fake: Boolean(m[2]), createdAt: new Date(Number(m[3]) * 1000) };
}

/** Whether a droplet of run `run` (its `kola-run:` tag) is one the key of `owner` was made for. */
export function ownerMatchesRun(owner: string, run: string | undefined): boolean {
  if (!run) return false;
  return owner === run || owner === `kola-${run}`;
}

/** DigitalOcean's fingerprint of a public key: MD5 of the key blob, as colon-separated hex. */
export function sshKeyFingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1];
  if (!blob) throw new Error('not an OpenSSH public key');
  return createHash('md5')
    .update(Buffer.from(blob, 'base64'))
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
}

/** mantle's droplet name: `<cluster[0:13]>-<10 hex>` (DigitalOcean names allow `[A-Za-z0-9.-]`). */
export function dropletName(cluster: string): string {
  const prefix = cluster
    .replace(/[^A-Za-z0-9.-]/g, '-')
    .slice(0, 13)
    .replace(/^[.-]+|[.-]+$/g, '');
  return `${prefix || 'kola'}-${randomBytes(5).toString('hex')}`;
}
