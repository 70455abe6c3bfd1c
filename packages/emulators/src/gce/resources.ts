import { createHash, randomBytes } from 'node:crypto';
import { fail } from './errors.js';

// The fixed parts of the emulated project: zones, machine types, disk types, and the checks GCE
// applies to names, labels and metadata.

export const zones = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'us-east1-b',
  'us-east1-c',
  'us-east1-d',
  'us-west1-a',
  'us-west1-b',
  'europe-west1-b',
  'europe-west1-c',
  'europe-west1-d',
] as const;

export const regionOf = (zone: string) => zone.replace(/-[a-z]$/, '');

export interface MachineType {
  name: string;
  guestCpus: number;
  memoryMb: number;
  isSharedCpu: boolean;
}

export const machineTypes: readonly MachineType[] = [
  { name: 'f1-micro', guestCpus: 1, memoryMb: 614, isSharedCpu: true },
  { name: 'g1-small', guestCpus: 1, memoryMb: 1740, isSharedCpu: true },
  { name: 'e2-micro', guestCpus: 2, memoryMb: 1024, isSharedCpu: true },
  { name: 'e2-small', guestCpus: 2, memoryMb: 2048, isSharedCpu: true },
  { name: 'e2-medium', guestCpus: 2, memoryMb: 4096, isSharedCpu: true },
  { name: 'e2-standard-2', guestCpus: 2, memoryMb: 8192, isSharedCpu: false },
  { name: 'e2-standard-4', guestCpus: 4, memoryMb: 16384, isSharedCpu: false },
  { name: 'n1-standard-1', guestCpus: 1, memoryMb: 3840, isSharedCpu: false },
  { name: 'n1-standard-2', guestCpus: 2, memoryMb: 7680, isSharedCpu: false },
  { name: 'n1-standard-4', guestCpus: 4, memoryMb: 15360, isSharedCpu: false },
  { name: 'n2-standard-2', guestCpus: 2, memoryMb: 8192, isSharedCpu: false },
  { name: 'n2-standard-4', guestCpus: 4, memoryMb: 16384, isSharedCpu: false },
];

export const diskTypes = ['pd-standard', 'pd-balanced', 'pd-ssd', 'pd-extreme'] as const;

/** Numeric resource ids: decimal uint64 strings; kept under 2^53 so the metadata server's JSON is exact. */
export function newId(): string {
  const n = 1_000_000_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 8_000_000_000_000_000);
  return String(n);
}

/** A fingerprint (metadata, labels, tags): 8 bytes of a hash of the content, base64, as GCE shows them. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest().subarray(0, 8).toString('base64');
}

export const nameRegex = '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)';

export function checkName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !new RegExp(`^${nameRegex}$`).test(name))
    fail(
      400,
      'invalid',
      `Invalid value for field '${field}': '${String(name ?? '')}'. Must be a match of regex '${nameRegex}'`,
    );
  return name;
}

/** GCE's label rules: ≤ 64, keys start with a lowercase letter, keys and values ≤ 63 of [a-z0-9_-]. */
export function checkLabels(field: string, labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > 64) fail(400, 'invalid', `Invalid value for field '${field}': more than 64 labels.`);
  for (const [key, value] of entries) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key))
      fail(
        400,
        'invalid',
        `Invalid value for field '${field}.${key}': '${key}'. Label keys must start with a lowercase letter and contain only lowercase letters, numbers, underscores and dashes (at most 63).`,
      );
    if (typeof value !== 'string' || !/^[a-z0-9_-]{0,63}$/.test(value))
      fail(
        400,
        'invalid',
        `Invalid value for field '${field}.${key}': '${String(value)}'. Label values may contain only lowercase letters, numbers, underscores and dashes (at most 63).`,
      );
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export interface MetadataItem {
  key: string;
  value: string;
}

/** Metadata keys [a-zA-Z0-9-_]{1,128}, unique; a value ≤ 256 KiB, all of them ≤ 512 KiB. */
export function checkMetadata(field: string, metadata: unknown): MetadataItem[] {
  const items = ((metadata as { items?: { key?: unknown; value?: unknown }[] } | undefined)?.items ?? []).map(
    (item, i) => {
      if (typeof item.key !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(item.key))
        fail(
          400,
          'invalid',
          `Invalid value for field '${field}.items[${i}].key': '${String(item.key ?? '')}'. Must be a match of regex '[a-zA-Z0-9-_]{1,128}'`,
        );
      const value = item.value === undefined || item.value === null ? '' : String(item.value);
      if (Buffer.byteLength(value) > 256 * 1024)
        fail(
          400,
          'invalid',
          `Invalid value for field '${field}.items[${i}].value': the value of '${item.key}' is over 262144 bytes.`,
        );
      return { key: item.key, value };
    },
  );
  const seen = new Set<string>();
  for (const { key } of items) {
    if (seen.has(key)) fail(400, 'invalid', `Invalid value for field '${field}': duplicate key '${key}'.`);
    seen.add(key);
  }
  const total = items.reduce((n, { key, value }) => n + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  if (total > 512 * 1024)
    fail(
      400,
      'invalid',
      `Invalid value for field '${field}': the metadata is ${total} bytes, over the limit of 524288.`,
    );
  return items;
}

/**
 * A resource reference as GCE takes it: a full URL (any host, `…/compute/v1/projects/P/…`), `projects/P/…`
 * or a path relative to the project (`zones/Z/machineTypes/T`, `global/images/I`).
 */
export function resourcePath(reference: string, project: string): { project: string; path: string } {
  let rest = reference.replace(/^https?:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\//, '');
  let owner = project;
  const m = /^projects\/([^/]+)\/(.*)$/.exec(rest);
  if (m) {
    owner = m[1]!;
    rest = m[2]!;
  }
  return { project: owner, path: rest };
}
