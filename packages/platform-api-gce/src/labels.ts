/**
 * GCE labels allow lowercase letters, digits, `_` and `-` (values up to 63 characters), so the run's
 * tags are folded into that alphabet; metadata items keep them as given, as mantle's `created-by`
 * metadata did. GC reads both (labels win), so instances mantle made are recognised too.
 */

export const ownerLabel = { key: 'created-by', value: 'mantle' } as const;

/** Metadata keys that carry machine input, never tags. */
export const inputMetadataKeys = new Set(['user-data', 'ssh-keys', 'startup-script']);

export function labelKey(key: string): string {
  let out = key.toLowerCase().replace(/[^-_a-z0-9]/g, '-');
  if (!/^[a-z]/.test(out)) out = `k${out}`;
  return out.slice(0, 63);
}

export function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^-_a-z0-9]/g, '-')
    .slice(0, 63);
}

/** The run's tags (created-by, kola-run, …) plus `extra` as valid labels. */
export function labelsOf(
  tags: Record<string, string>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = { [ownerLabel.key]: ownerLabel.value };
  for (const [k, v] of Object.entries({ ...tags, ...extra })) out[labelKey(k)] = labelValue(v);
  out[ownerLabel.key] = ownerLabel.value;
  return out;
}

/** An RFC 3339 UTC date as a label value: `2027-01-31T00:00:00Z` → `2027-01-31t00-00-00z`. */
export function dateLabel(iso: string): string {
  return labelValue(iso.replace(/\.\d+Z$/, 'Z'));
}

/** The inverse of dateLabel; anything else is returned as it is (and GC keeps what it cannot parse). */
export function labelDate(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})t(\d{2})-(\d{2})-(\d{2})z$/.exec(value);
  return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` : value;
}

/** Date-valued tags GC understands, stored in labels with dateLabel. */
export const dateLabelKeys = ['expires-at', 'keep-until'];

/** What GC sees of a resource: its metadata items (not machine input), then its labels decoded. */
export function gcTagsOf(
  labels: Record<string, string> | null | undefined,
  metadata: ReadonlyArray<{ key?: string | null; value?: string | null }> = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of metadata)
    if (item.key && !inputMetadataKeys.has(item.key)) out[item.key] = item.value ?? '';
  for (const [k, v] of Object.entries(labels ?? {})) out[k] = dateLabelKeys.includes(k) ? labelDate(v) : v;
  return out;
}
