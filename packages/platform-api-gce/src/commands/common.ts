import { ConfigError, expiryFrom, type Logger, parseDuration, UsageError } from '@mantle/cluster';
import { createGceClients, type GceClients } from '../api/clients.js';
import { isAlreadyExists, isNotFound } from '../api/errors.js';
import { googleJson } from '../api/http.js';
import { deleteImage, getImage, type Image, insertImage } from '../api/images.js';
import { parseGsUrl } from '../api/storage.js';
import { computeBaseUrl } from '../image.js';
import { dateLabel, ownerLabel } from '../labels.js';
import type { GceOptions } from '../options.js';
import { bucketError } from '../upload/source.js';

/** `--bucket` (or its default, `gs://<project>-kola-images`) as bucket and object prefix. */
export function bucketOf(url: string | undefined, project: string): { bucket: string; prefix: string } {
  const given = url ?? `gs://${project}-kola-images`;
  const parsed = parseGsUrl(given);
  if (!parsed) throw bucketError(given);
  return parsed;
}

/**
 * The bucket exists (these credentials see it), or is made, labelled created-by=mantle, so that gc
 * may look in it for upload objects that expired.
 */
export async function ensureBucket(
  clients: GceClients,
  bucket: string,
  options: { signal: AbortSignal; log: Logger },
): Promise<'found' | 'created'> {
  const url = `${clients.storageUrl}/storage/v1/b/${encodeURIComponent(bucket)}`;
  try {
    await googleJson(clients.auth, 'storage.buckets.get', url, {}, options);
    return 'found';
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await googleJson(
      clients.auth,
      'storage.buckets.insert',
      `${clients.storageUrl}/storage/v1/b?project=${encodeURIComponent(clients.project)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: bucket, labels: { [ownerLabel.key]: ownerLabel.value } }),
      },
      options,
    );
    options.log.notice(`gce: created bucket gs://${bucket} (labelled ${ownerLabel.key}=${ownerLabel.value})`);
    return 'created';
  } catch (e) {
    if (isAlreadyExists(e))
      throw new ConfigError(`--bucket gs://${bucket}: the name is taken by another project`, { cause: e });
    throw e;
  }
}

/** Labels of an image ore makes: the owner, and expires-at when asked for. */
export function imageLabels(expiresAt: string | undefined): Record<string, string> {
  return { [ownerLabel.key]: ownerLabel.value, ...(expiresAt ? { 'expires-at': dateLabel(expiresAt) } : {}) };
}

/** `--license`: a URL as given, `projects/…` completed, anything else refused. */
export function licenseUrls(licenses: readonly string[]): string[] {
  return licenses.map((l) => {
    if (l.startsWith('projects/')) return `${computeBaseUrl}${l}`;
    if (
      /^https:\/\/(www|compute)\.googleapis\.com\/compute\/v1\/projects\/[^/]+\/global\/licenses\/[^/]+$/.test(
        l,
      )
    )
      return l;
    throw new UsageError(
      `--license ${JSON.stringify(l)}: not projects/<p>/global/licenses/<name> or its URL`,
    );
  });
}

export interface ImageFlags {
  family?: string | undefined;
  description?: string | undefined;
  license: string[];
  expiresIn?: string | undefined;
  expiresAt?: string | undefined;
  imageTimeout: string;
  force: boolean;
}

/** What the image flags mean, checked before any call: bad values are one line, exit 2. */
export function imagePlan(flags: ImageFlags): {
  labels: Record<string, string>;
  licenses: string[];
  expiresAt?: string;
  timeoutMs: number;
} {
  const expiresAt = expiryFrom(flags);
  return {
    labels: imageLabels(expiresAt),
    licenses: licenseUrls(flags.license),
    ...(expiresAt ? { expiresAt } : {}),
    timeoutMs: parseDuration(flags.imageTimeout, '--image-timeout'),
  };
}

/** An image of that name must not exist, unless `--force` (then it is deleted first). */
export async function clearImageName(
  clients: GceClients,
  name: string,
  force: boolean,
  options: { signal: AbortSignal; log: Logger },
): Promise<void> {
  const existing = await getImage(clients, clients.project, name, options);
  if (!existing) return;
  if (!force)
    throw new ConfigError(`image ${name} already exists in project ${clients.project}`, {
      hint: 'pass --force to delete it and make it again, or choose another name',
    });
  options.log.notice(`gce: --force: deleting image ${name}`);
  await deleteImage(clients, name, options);
}

/** images.insert from a tarball object, mantle's guestOsFeatures, the flags' family/licenses/labels. */
export async function makeImage(
  clients: GceClients,
  input: { name: string; sourceUri: string; flags: ImageFlags; plan: ReturnType<typeof imagePlan> },
  options: { signal: AbortSignal; log: Logger },
): Promise<Image> {
  return insertImage(
    clients,
    {
      name: input.name,
      sourceUri: input.sourceUri,
      labels: input.plan.labels,
      licenses: input.plan.licenses,
      ...(input.flags.family ? { family: input.flags.family } : {}),
      ...(input.flags.description ? { description: input.flags.description } : {}),
    },
    { ...options, timeoutMs: input.plan.timeoutMs },
  );
}

/** What a verb prints about an image. */
export function imageSummary(image: Image): Record<string, unknown> {
  return {
    name: image.name ?? '',
    url: image.selfLink ?? '',
    ...(image.family ? { family: image.family } : {}),
    status: image.status ?? '',
    created: image.creationTimestamp ?? '',
    ...(image.diskSizeGb ? { diskSizeGb: Number(image.diskSizeGb) } : {}),
    labels: image.labels ?? {},
  };
}

/** Runs a verb with the clients of the platform options, closed however it ends. */
export async function withClients<T>(
  input: { platformOptions: GceOptions; log: Logger },
  run: (clients: GceClients) => Promise<T>,
): Promise<T> {
  const clients = createGceClients(input.platformOptions, { onWarning: (m) => input.log.warn(m) });
  try {
    return await run(clients);
  } finally {
    await clients.close();
  }
}
