import { UsageError } from '@mantle/cluster';
import { ownerTag } from '../tags.js';

// shared with the other platforms' verbs
export { expiryFrom, pollEvery as pollUntil } from '@mantle/cluster';

/** `k=v,k2=v2` (mantle's --tags). Values may contain `=`; keys may not be empty. */
export function parseTags(text: string | undefined, flag = '--tags'): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!text) return tags;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (eq < 0 || !key) throw new UsageError(`${flag} "${text}": "${pair}" is not key=value`);
    if (key === ownerTag.key)
      throw new UsageError(`${flag}: ${ownerTag.key} is set by ore itself and cannot be given`);
    if (key.toLowerCase().startsWith('aws:'))
      throw new UsageError(`${flag}: tag keys starting with "aws:" are reserved by AWS`);
    tags[key] = pair.slice(eq + 1).trim();
  }
  return tags;
}

/** `s3://bucket/some/prefix` → bucket and key prefix (without leading or trailing slash). */
export function parseS3Url(url: string, flag: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new UsageError(`${flag} "${url}": not an S3 URL (s3://bucket/prefix)`);
  return { bucket: m[1]!, key: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** The staging bucket `ore aws initialize` makes by default, and `ore aws upload` uses by default. */
export function defaultBucket(account: string, region: string): string {
  return `kola-images-${account}-${region}`;
}

export const managedTags = (extra: Record<string, string>): Record<string, string> => ({
  [ownerTag.key]: ownerTag.value,
  ...extra,
});
