import { PlatformApiError } from '@mantle/cluster';
import type { GceClients } from './clients.js';
import { isNotFound } from './errors.js';
import { type CallOptions, gceCall, googleJson, googlePages, unlessNotFound } from './http.js';

/**
 * The Cloud Storage JSON API calls ore needs, over the authenticated fetch (so every call takes a
 * signal and fails with the same typed errors as Compute): object metadata, listing by prefix,
 * deletion, and the resumable upload protocol.
 */

export interface StorageObject {
  bucket: string;
  name: string;
  size?: string;
  generation?: string;
  crc32c?: string;
  md5Hash?: string;
  timeCreated?: string;
  updated?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

const enc = encodeURIComponent;

function objectUrl(clients: GceClients, bucket: string, name: string): string {
  return `${clients.storageUrl}/storage/v1/b/${enc(bucket)}/o/${enc(name)}`;
}

/** `gs://bucket/some/prefix` → bucket and object prefix (no leading or trailing slash). */
export function parseGsUrl(url: string): { bucket: string; prefix: string } | undefined {
  const m = /^gs:\/\/([a-z0-9][-a-z0-9_.]{1,220}[a-z0-9])(?:\/(.*))?$/.exec(url);
  return m ? { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') } : undefined;
}

/** The URL images.insert reads a raw disk tarball from. */
export function objectSourceUri(bucket: string, name: string): string {
  return `https://storage.googleapis.com/${bucket}/${name.split('/').map(enc).join('/')}`;
}

export async function getObject(
  clients: GceClients,
  bucket: string,
  name: string,
  options: CallOptions,
): Promise<StorageObject | undefined> {
  const answer = await unlessNotFound(
    googleJson<StorageObject>(
      clients.auth,
      'storage.objects.get',
      objectUrl(clients, bucket, name),
      {},
      options,
    ),
  );
  return answer?.body;
}

export async function deleteObject(
  clients: GceClients,
  bucket: string,
  name: string,
  options: CallOptions,
): Promise<void> {
  try {
    await googleJson(
      clients.auth,
      'storage.objects.delete',
      objectUrl(clients, bucket, name),
      { method: 'DELETE' },
      options,
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** Every object under `prefix`, every page. */
export async function* listObjects(
  clients: GceClients,
  bucket: string,
  prefix: string,
  options: CallOptions & { pageSize?: number },
): AsyncGenerator<StorageObject> {
  yield* googlePages<StorageObject>(
    clients.auth,
    'storage.objects.list',
    `${clients.storageUrl}/storage/v1/b/${enc(bucket)}/o`,
    { maxResults: String(options.pageSize ?? 1000), ...(prefix ? { prefix } : {}) },
    options,
  );
}

/** The bucket exists and these credentials can see it: a preflight before reading a big file. */
export async function getBucket(
  clients: GceClients,
  bucket: string,
  options: CallOptions,
): Promise<{ name: string }> {
  return (
    await googleJson<{ name: string }>(
      clients.auth,
      'storage.buckets.get',
      `${clients.storageUrl}/storage/v1/b/${enc(bucket)}`,
      {},
      options,
    )
  ).body;
}

/** Starts a resumable upload session; its URL is what an interrupted upload resumes with. */
export async function startResumableUpload(
  clients: GceClients,
  object: {
    bucket: string;
    name: string;
    contentType: string;
    metadata: Record<string, string>;
    size?: number;
  },
  options: CallOptions,
): Promise<string> {
  const query = new URLSearchParams({ uploadType: 'resumable', name: object.name });
  const { headers } = await googleJson(
    clients.auth,
    'storage.objects.insert',
    `${clients.storageUrl}/upload/storage/v1/b/${enc(object.bucket)}/o?${query}`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'x-upload-content-type': object.contentType,
        ...(object.size !== undefined ? { 'x-upload-content-length': String(object.size) } : {}),
      },
      body: JSON.stringify({ name: object.name, contentType: object.contentType, metadata: object.metadata }),
    },
    options,
  );
  const location = headers.get('location');
  if (!location)
    throw new PlatformApiError(
      { platform: 'gce', operation: 'storage.objects.insert' },
      'the resumable upload was started without a session URL (no Location header)',
    );
  return location;
}

/** Where a resumable session stands: bytes the server holds, or the object it finished. */
export type UploadState = { done: false; received: number } | { done: true; object: StorageObject };

function receivedOf(range: string | null): number {
  // `Range: bytes=0-N` (inclusive); absent = nothing received yet
  const m = range ? /bytes=0-(\d+)/.exec(range) : null;
  return m ? Number(m[1]) + 1 : 0;
}

async function stateOf(response: Response): Promise<UploadState> {
  if (response.status === 308) {
    await response.body?.cancel().catch(() => {});
    return { done: false, received: receivedOf(response.headers.get('range')) };
  }
  return { done: true, object: (await response.json()) as StorageObject };
}

/** Asks a session how much it holds (`PUT` with `Content-Range: bytes *\/*`); 404/410 = expired. */
export async function queryUpload(
  clients: GceClients,
  session: string,
  options: CallOptions,
): Promise<UploadState> {
  return gceCall('storage.upload.status', options, async () => {
    const response = await clients.auth.fetch(session, {
      method: 'PUT',
      headers: { 'content-range': 'bytes */*', 'content-length': '0' },
    });
    if (response.status !== 308 && !response.ok) throw new Error(`HTTP ${response.status}`);
    return stateOf(response);
  });
}

/**
 * Sends one chunk at `offset`; `total` only with the last chunk (GCS then finishes the object, and
 * checks `crc32c`, base64 of the whole object's CRC32C, against what it received). Not retried here:
 * the caller asks the session where it stands and resends from there.
 */
export async function putChunk(
  clients: GceClients,
  session: string,
  chunk: { data: readonly Buffer[]; offset: number; total?: number; crc32c?: string },
  options: CallOptions,
): Promise<UploadState> {
  const length = chunk.data.reduce((n, b) => n + b.length, 0);
  const end = chunk.offset + length - 1;
  const total = chunk.total === undefined ? '*' : String(chunk.total);
  const range = length === 0 ? `bytes */${total}` : `bytes ${chunk.offset}-${end}/${total}`;
  return gceCall('storage.upload.chunk', { ...options, attempts: 1 }, async () => {
    const response = await clients.auth.sendBytes(session, {
      method: 'PUT',
      headers: {
        'content-range': range,
        ...(chunk.crc32c ? { 'x-goog-hash': `crc32c=${chunk.crc32c}` } : {}),
      },
      body: chunk.data,
    });
    if (response.status !== 308 && !response.ok) throw new Error(`HTTP ${response.status}`);
    return stateOf(response);
  });
}
