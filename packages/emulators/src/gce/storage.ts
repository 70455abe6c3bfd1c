import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeRequestError } from '../http/errors.js';
import { paginateGoogle } from '../http/pagination.js';
import { type FakeReply, type Route, type RouteContext, reply, route } from '../http/routes.js';
import { ObjectHasher } from './crc32c.js';
import { fail, googleError } from './errors.js';
import { resumableOperations } from './spec.js';

/** A stored object: its resource fields and the file holding its bytes. */
export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  crc32c: string;
  md5Hash: string;
  contentType: string;
  metadata?: Record<string, string>;
  contentEncoding?: string;
  cacheControl?: string;
  timeCreated: string;
  file: string;
}

interface Bucket {
  name: string;
  timeCreated: string;
  labels: Record<string, string>;
  objects: Map<string, StoredObject>;
}

/** The object resource a resumable session will create, and the session's progress. */
interface Session {
  id: string;
  bucket: string;
  resource: ObjectFields;
  conditions: URLSearchParams;
  file: string;
  /** Bytes kept (a multiple of 256 KiB until the last request). */
  persisted: number;
  /** The hashes of bytes 0..persisted, kept as they arrive (as GCS does); dropped when a truncation
   * makes them unsound, and then the file is hashed again at the finish. */
  hasher: ObjectHasher | undefined;
  declaredSize: number | undefined;
  busy: boolean;
  done?: StoredObject;
  /** Cancelled, or ended in an error: every later request gets this answer. */
  failed?: FakeReply;
}

interface ObjectFields {
  name: string;
  contentType?: string;
  metadata?: Record<string, string>;
  contentEncoding?: string;
  cacheControl?: string;
  crc32c?: string;
  md5Hash?: string;
}

/** GCS's unit for non-final resumable chunks. */
const chunkUnit = 256 * 1024;
/** A multipart upload is read whole; GCS recommends it for small objects. */
const maxMultipartBytes = 256 * 1024 * 1024;

export interface GcsStore {
  routes: Route[];
  /** The object's bytes, for images.insert (rawDisk.source); undefined when there is none. */
  read(bucket: string, name: string): { object: StoredObject; stream(): AsyncIterable<Buffer> } | undefined;
  createBucket(name: string): void;
  /** Sessions not finished (cancelled ones excluded). */
  openSessions(): number;
  close(): Promise<void>;
}

/**
 * The Cloud Storage JSON API, enough for image uploads: buckets (get, list, insert, delete), objects
 * (list with prefix/delimiter/paging, get with `alt=media` and Range, delete), uploads (`media`,
 * `multipart`, and the resumable protocol: session URI, chunks with Content-Range, 308 with Range,
 * upload status queries, a request ended early keeping what whole 256 KiB units arrived).
 * Objects live in files under `dir`; CRC32C and MD5 are computed from the stored bytes, and an
 * upload whose `x-goog-hash` or metadata hashes differ is refused, as GCS does.
 */
export async function createGcsStore(options: {
  dir: string;
  projectNumber: string;
  validateMetadata?: (value: unknown) => string[];
}): Promise<GcsStore> {
  const objectsDir = join(options.dir, 'objects');
  const uploadsDir = join(options.dir, 'uploads');
  await mkdir(objectsDir, { recursive: true });
  await mkdir(uploadsDir, { recursive: true });
  const buckets = new Map<string, Bucket>();
  const sessions = new Map<string, Session>();
  let lastGeneration = 0;
  const nextGeneration = () => {
    lastGeneration = Math.max(lastGeneration + 1, Date.now() * 1000);
    return String(lastGeneration);
  };

  const bucketOf = (name: string): Bucket =>
    buckets.get(name) ?? fail(404, 'notFound', 'The specified bucket does not exist.');
  const objectOf = (bucket: Bucket, name: string): StoredObject =>
    bucket.objects.get(name) ?? fail(404, 'notFound', `No such object: ${bucket.name}/${name}`);

  const bucketResource = (ctx: Pick<RouteContext, 'baseUrl'>, b: Bucket) => ({
    kind: 'storage#bucket',
    selfLink: `${ctx.baseUrl}/storage/v1/b/${b.name}`,
    id: b.name,
    name: b.name,
    projectNumber: options.projectNumber,
    metageneration: '1',
    location: 'US',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: b.timeCreated,
    updated: b.timeCreated,
    locationType: 'multi-region',
    rpo: 'DEFAULT',
    labels: b.labels,
    iamConfiguration: {
      bucketPolicyOnly: { enabled: false },
      uniformBucketLevelAccess: { enabled: false },
      publicAccessPrevention: 'inherited',
    },
  });

  const objectResource = (ctx: Pick<RouteContext, 'baseUrl'>, o: StoredObject) => {
    const encoded = encodeURIComponent(o.name);
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${ctx.baseUrl}/storage/v1/b/${o.bucket}/o/${encoded}`,
      mediaLink: `${ctx.baseUrl}/storage/v1/b/${o.bucket}/o/${encoded}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.size),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: Buffer.from(o.generation).toString('base64'),
      timeCreated: o.timeCreated,
      updated: o.timeCreated,
      timeStorageClassUpdated: o.timeCreated,
      timeFinalized: o.timeCreated,
      ...(o.metadata ? { metadata: o.metadata } : {}),
      ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
      ...(o.cacheControl ? { cacheControl: o.cacheControl } : {}),
    };
  };

  /** ifGenerationMatch (0: must not exist) and the others, as GCS checks them. */
  const checkConditions = (query: URLSearchParams, existing: StoredObject | undefined) => {
    const generation = existing?.generation ?? '0';
    const metageneration = existing ? String(existing.metageneration) : undefined;
    const ok =
      (query.get('ifGenerationMatch') === null || query.get('ifGenerationMatch') === generation) &&
      (query.get('ifGenerationNotMatch') === null || query.get('ifGenerationNotMatch') !== generation) &&
      (query.get('ifMetagenerationMatch') === null ||
        query.get('ifMetagenerationMatch') === metageneration) &&
      (query.get('ifMetagenerationNotMatch') === null ||
        query.get('ifMetagenerationNotMatch') !== metageneration);
    if (!ok) fail(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
  };

  const hashesOf = async (file: string, hashed: ObjectHasher | undefined) => {
    if (hashed && hashed.size === (await stat(file)).size) return hashed.digest();
    const hasher = new ObjectHasher();
    for await (const chunk of createReadStream(file)) hasher.update(chunk as Buffer);
    return hasher.digest();
  };

  /** Checks the hashes the client gave (x-goog-hash, or the resource's crc32c/md5Hash) and stores the object. */
  const commit = async (
    bucket: Bucket,
    fields: ObjectFields,
    file: string,
    conditions: URLSearchParams,
    goog: string | undefined,
    hashed?: ObjectHasher,
  ): Promise<StoredObject> => {
    const { crc32c, md5Hash, size } = await hashesOf(file, hashed);
    const given = parseGoogHash(goog);
    const crcGiven = given.crc32c ?? fields.crc32c;
    const md5Given = given.md5 ?? fields.md5Hash;
    if (crcGiven !== undefined && crcGiven !== crc32c)
      fail(400, 'invalid', `Provided CRC32C "${crcGiven}" doesn't match calculated CRC32C "${crc32c}".`);
    if (md5Given !== undefined && md5Given !== md5Hash)
      fail(400, 'invalid', `Provided MD5 hash "${md5Given}" doesn't match calculated MD5 hash "${md5Hash}".`);
    const existing = bucket.objects.get(fields.name);
    checkConditions(conditions, existing);
    const generation = nextGeneration();
    const stored = join(objectsDir, `${randomBytes(12).toString('hex')}`);
    await rename(file, stored);
    const object: StoredObject = {
      bucket: bucket.name,
      name: fields.name,
      generation,
      metageneration: 1,
      size,
      crc32c,
      md5Hash,
      contentType: fields.contentType ?? 'application/octet-stream',
      ...(fields.metadata ? { metadata: fields.metadata } : {}),
      ...(fields.contentEncoding ? { contentEncoding: fields.contentEncoding } : {}),
      ...(fields.cacheControl ? { cacheControl: fields.cacheControl } : {}),
      timeCreated: new Date().toISOString(),
      file: stored,
    };
    bucket.objects.set(fields.name, object);
    if (existing) await rm(existing.file, { force: true });
    return object;
  };

  const objectFields = (value: unknown, queryName: string | null): ObjectFields => {
    if (value !== undefined) {
      const problems = options.validateMetadata?.(value) ?? [];
      if (problems.length) throw new FakeRequestError(problems.join('; '));
    }
    const v = (value ?? {}) as Record<string, unknown>;
    const name = typeof v.name === 'string' && v.name ? v.name : queryName;
    if (!name) fail(400, 'required', 'Required');
    if (Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name) || name === '.' || name === '..')
      fail(400, 'invalid', `The specified object name is not valid: ${name}`);
    const str = (key: string) => (typeof v[key] === 'string' ? (v[key] as string) : undefined);
    const fields: ObjectFields = { name };
    for (const key of ['contentType', 'contentEncoding', 'cacheControl', 'crc32c', 'md5Hash'] as const) {
      const value = str(key);
      if (value !== undefined) fields[key] = value;
    }
    if (v.metadata && typeof v.metadata === 'object') fields.metadata = v.metadata as Record<string, string>;
    return fields;
  };

  const tempFile = () => join(uploadsDir, randomBytes(12).toString('hex'));

  /** Writes a request body to `file` at `position`, skipping its first `skip` bytes; the bytes written. */
  const writeBody = async (
    body: AsyncIterable<Buffer> | Iterable<Buffer>,
    file: string,
    position: number,
    skip: number,
    onWritten: (bytes: number, part: Buffer) => void = () => {},
  ): Promise<{ written: number; received: number }> => {
    const handle = await open(file, 'a+').then(async (h) => {
      await h.close();
      return open(file, 'r+');
    });
    let received = 0;
    let written = 0;
    try {
      for await (const chunk of ended(body)) {
        const from = Math.max(0, Math.min(chunk.length, skip - received));
        received += chunk.length;
        if (from < chunk.length) {
          const part = chunk.subarray(from);
          await handle.write(part, 0, part.length, position + written);
          written += part.length;
          onWritten(written, part);
        }
      }
    } finally {
      await handle.close();
    }
    return { written, received };
  };

  const truncate = async (file: string, length: number) => {
    const h = await open(file, 'r+');
    try {
      await h.truncate(length);
    } finally {
      await h.close();
    }
  };

  const readAll = async (body: AsyncIterable<Buffer> | undefined, limit: number): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body ?? []) {
      size += chunk.length;
      if (size > limit)
        fail(413, 'uploadTooLarge', `The request body is over ${limit} bytes; use a resumable upload.`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  };

  const header = (ctx: RouteContext<unknown>, name: string) => {
    const value = ctx.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };

  async function upload(ctx: RouteContext<{ bucket: string }>): Promise<FakeReply> {
    const bucket = bucketOf(ctx.params.bucket);
    const type = ctx.query.get('uploadType');
    if (type === 'media') {
      const fields = objectFields(undefined, ctx.query.get('name'));
      const contentType = header(ctx, 'content-type');
      if (contentType) fields.contentType = contentType;
      checkConditions(ctx.query, bucket.objects.get(fields.name));
      const file = tempFile();
      const hasher = new ObjectHasher();
      try {
        await writeBody(ctx.bodyStream ?? [], file, 0, 0, (_, part) => hasher.update(part));
        const object = await commit(bucket, fields, file, ctx.query, header(ctx, 'x-goog-hash'), hasher);
        return reply(200, objectResource(ctx, object));
      } finally {
        await rm(file, { force: true });
      }
    }
    if (type === 'multipart') {
      const boundary = /boundary="?([^";]+)"?/i.exec(header(ctx, 'content-type') ?? '')?.[1];
      if (!/^multipart\/related\b/i.test(header(ctx, 'content-type') ?? '') || !boundary)
        fail(
          400,
          'invalid',
          'Content-Type must be multipart/related with a boundary for uploadType=multipart',
        );
      const parts = splitMultipart(await readAll(ctx.bodyStream, maxMultipartBytes), boundary);
      if (parts.length !== 2)
        fail(400, 'invalid', `A multipart upload has 2 parts (metadata, media), not ${parts.length}`);
      const [meta, media] = parts as [MultipartPart, MultipartPart];
      let value: unknown;
      try {
        value = JSON.parse(meta.body.toString('utf8'));
      } catch {
        fail(400, 'parseError', 'Parse Error: the metadata part is not JSON');
      }
      const fields = objectFields(value, ctx.query.get('name'));
      fields.contentType ??= media.headers['content-type'] ?? 'application/octet-stream';
      checkConditions(ctx.query, bucket.objects.get(fields.name));
      const file = tempFile();
      try {
        await writeBody([media.body], file, 0, 0);
        const object = await commit(bucket, fields, file, ctx.query, header(ctx, 'x-goog-hash'));
        return reply(200, objectResource(ctx, object));
      } finally {
        await rm(file, { force: true });
      }
    }
    // resumable: the session start; its JSON body is the object's resource
    const raw = await readAll(ctx.bodyStream, 1024 * 1024);
    let value: unknown;
    if (raw.length) {
      try {
        value = JSON.parse(raw.toString('utf8'));
      } catch {
        fail(400, 'parseError', 'Parse Error');
      }
    }
    const fields = objectFields(value, ctx.query.get('name'));
    const uploadType = header(ctx, 'x-upload-content-type');
    if (uploadType) fields.contentType = uploadType;
    const declared = header(ctx, 'x-upload-content-length');
    checkConditions(ctx.query, bucket.objects.get(fields.name));
    const id = `ADPyc${randomBytes(36).toString('base64url')}`;
    const file = tempFile();
    await writeBody([], file, 0, 0);
    const conditions = new URLSearchParams();
    for (const name of [
      'ifGenerationMatch',
      'ifGenerationNotMatch',
      'ifMetagenerationMatch',
      'ifMetagenerationNotMatch',
    ])
      if (ctx.query.get(name) !== null) conditions.set(name, ctx.query.get(name)!);
    sessions.set(id, {
      id,
      bucket: bucket.name,
      resource: fields,
      conditions,
      file,
      persisted: 0,
      hasher: new ObjectHasher(),
      declaredSize: declared === undefined ? undefined : Number(declared),
      busy: false,
    });
    const location = new URL(`${ctx.baseUrl}/upload/storage/v1/b/${bucket.name}/o`);
    location.searchParams.set('uploadType', 'resumable');
    location.searchParams.set('name', fields.name);
    location.searchParams.set('upload_id', id);
    return { status: 200, headers: { location: location.toString(), 'x-guploader-uploadid': id } };
  }

  const incomplete = (session: Session): FakeReply => ({
    status: 308,
    headers: {
      'x-guploader-uploadid': session.id,
      ...(session.persisted > 0 ? { range: `bytes=0-${session.persisted - 1}` } : {}),
    },
  });

  const sessionOf = (ctx: RouteContext<{ bucket: string }>): Session => {
    const id = ctx.query.get('upload_id') ?? '';
    const session = sessions.get(id);
    if (!session || session.bucket !== ctx.params.bucket)
      fail(404, 'notFound', 'No such upload session (unknown upload_id)');
    return session;
  };

  async function finish(ctx: RouteContext<{ bucket: string }>, session: Session, goog: string | undefined) {
    try {
      if (session.declaredSize !== undefined && session.persisted !== session.declaredSize)
        fail(
          400,
          'invalid',
          `The upload is ${session.persisted} byte(s), but X-Upload-Content-Length declared ${session.declaredSize}.`,
        );
      const object = await commit(
        bucketOf(session.bucket),
        session.resource,
        session.file,
        session.conditions,
        goog,
        session.hasher,
      );
      session.done = object;
      return reply(200, objectResource(ctx, object));
    } catch (e) {
      // a refused finish (hashes, preconditions) ends the session: GCS keeps nothing of it
      const answer = (e as { reply?: FakeReply }).reply ?? googleError(500, 'backendError', String(e));
      session.failed = answer;
      await rm(session.file, { force: true });
      throw e;
    }
  }

  async function chunk(ctx: RouteContext<{ bucket: string }>): Promise<FakeReply> {
    const session = sessionOf(ctx);
    if (session.failed) return session.failed;
    if (session.done) {
      for await (const _ of ctx.bodyStream ?? []);
      return reply(200, objectResource(ctx, session.done));
    }
    const range = header(ctx, 'content-range') ?? '';
    const status = /^bytes \*\/(\*|\d+)$/.exec(range);
    if (status) {
      for await (const _ of ctx.bodyStream ?? []);
      if (status[1] !== '*' && Number(status[1]) === session.persisted && !session.busy)
        return finish(ctx, session, header(ctx, 'x-goog-hash'));
      return incomplete(session);
    }
    const m = /^bytes (\d+)-(\d+|\*)\/(\*|\d+)$/.exec(range);
    if (!m) fail(400, 'invalid', `Invalid Content-Range: ${range || '(none)'}`);
    if (session.busy) fail(503, 'backendError', 'Another request of this upload session is in progress');
    const first = Number(m[1]);
    const last = m[2] === '*' ? undefined : Number(m[2]);
    const total = m[3] === '*' ? undefined : Number(m[3]);
    if (first > session.persisted)
      fail(
        400,
        'invalid',
        `Invalid request. According to the Content-Range header, the upload offset is ${first} byte(s), which exceeds already uploaded size of ${session.persisted} byte(s).`,
      );
    session.busy = true;
    const start = session.persisted;
    let written = 0;
    let received: number;
    try {
      ({ received } = await writeBody(ctx.bodyStream ?? [], session.file, start, start - first, (n, part) => {
        written = n;
        session.hasher?.update(part);
      }));
    } catch (e) {
      // the client went away mid-request: GCS keeps the whole 256 KiB units that arrived
      session.persisted = Math.max(start, Math.floor((start + written) / chunkUnit) * chunkUnit);
      dropUnsoundHashes(session);
      await truncate(session.file, session.persisted).catch(() => {});
      throw e;
    } finally {
      session.busy = false;
    }
    const end = first + received; // one past the request's last byte
    const reached = Math.max(end, start);
    const refuse = async (message: string): Promise<never> => {
      await truncate(session.file, start);
      dropUnsoundHashes(session);
      fail(400, 'invalid', message);
    };
    if (last !== undefined && last + 1 !== end)
      await refuse(
        `Invalid request. The Content-Range ${range} does not match the ${received} byte(s) sent.`,
      );
    if (total !== undefined && end > total)
      await refuse(`Invalid request. The upload is ${total} byte(s) but ${end} were sent.`);
    if (last === undefined || (total !== undefined && last + 1 === total)) {
      session.persisted = reached;
      if (total !== undefined && reached !== total) return incomplete(session);
      return finish(ctx, session, header(ctx, 'x-goog-hash'));
    }
    if (received < chunkUnit)
      await refuse(
        `Invalid request. The number of bytes uploaded is required to be equal or greater than ${chunkUnit}, except for the final request (it's recommended to be the exact multiple of ${chunkUnit}). The received request contained ${received} bytes, which does not meet this requirement.`,
      );
    session.persisted = Math.max(start, Math.floor(reached / chunkUnit) * chunkUnit);
    dropUnsoundHashes(session);
    if (session.persisted !== reached) await truncate(session.file, session.persisted);
    return incomplete(session);
  }

  /** The running hashes cover exactly the bytes kept, or they are dropped. */
  function dropUnsoundHashes(session: Session): void {
    if (session.hasher && session.hasher.size !== session.persisted) session.hasher = undefined;
  }

  async function cancel(ctx: RouteContext<{ bucket: string }>): Promise<FakeReply> {
    const session = sessionOf(ctx);
    if (!session.done && !session.failed) {
      session.failed = googleError(404, 'notFound', 'The upload session was cancelled');
      await rm(session.file, { force: true });
    }
    return { status: 499 };
  }

  function list(ctx: RouteContext<{ bucket: string }>): FakeReply {
    const bucket = bucketOf(ctx.params.bucket);
    const prefix = ctx.query.get('prefix') ?? '';
    const delimiter = ctx.query.get('delimiter') ?? '';
    const startOffset = ctx.query.get('startOffset');
    const endOffset = ctx.query.get('endOffset');
    const entries: { name: string; object?: StoredObject }[] = [];
    const prefixes = new Set<string>();
    for (const name of [...bucket.objects.keys()].sort()) {
      if (!name.startsWith(prefix)) continue;
      if (startOffset !== null && name < startOffset) continue;
      if (endOffset !== null && name >= endOffset) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const p = name.slice(0, cut + delimiter.length);
        if (!prefixes.has(p)) {
          prefixes.add(p);
          entries.push({ name: p });
        }
      } else entries.push({ name, object: bucket.objects.get(name)! });
    }
    const page = paginateGoogle(entries, ctx, { defaultSize: 1000, maxSize: 1000 });
    const items = page.items.filter((e) => e.object).map((e) => objectResource(ctx, e.object!));
    const pagePrefixes = page.items.filter((e) => !e.object).map((e) => e.name);
    return reply(200, {
      kind: 'storage#objects',
      ...(items.length ? { items } : {}),
      ...(pagePrefixes.length ? { prefixes: pagePrefixes } : {}),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    });
  }

  async function get(ctx: RouteContext<{ bucket: string; object: string }>): Promise<FakeReply> {
    const object = objectOf(bucketOf(ctx.params.bucket), ctx.params.object);
    const generation = ctx.query.get('generation');
    if (generation !== null && generation !== object.generation)
      fail(404, 'notFound', `No such object: ${object.bucket}/${object.name}`);
    checkConditions(ctx.query, object);
    if (ctx.query.get('alt') !== 'media') return reply(200, objectResource(ctx, object));
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      'x-goog-generation': object.generation,
      'x-goog-metageneration': String(object.metageneration),
      'x-goog-stored-content-length': String(object.size),
      'x-goog-stored-content-encoding': object.contentEncoding ?? 'identity',
      'x-goog-storage-class': 'STANDARD',
      'accept-ranges': 'bytes',
      etag: `"${object.md5Hash}"`,
      'last-modified': new Date(object.timeCreated).toUTCString(),
    };
    const data = await readFile(object.file);
    const range = header(ctx, 'range');
    if (!range) return { status: 200, headers, body: data };
    const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let from: number;
    let to: number;
    if (!r || (r[1] === '' && r[2] === '')) return { status: 200, headers, body: data };
    if (r[1] === '') {
      from = Math.max(0, object.size - Number(r[2]));
      to = object.size - 1;
    } else {
      from = Number(r[1]);
      to = r[2] === '' ? object.size - 1 : Math.min(Number(r[2]), object.size - 1);
    }
    if (from >= object.size || from > to) {
      const answer = googleError(
        416,
        'requestedRangeNotSatisfiable',
        'The requested range cannot be satisfied.',
      );
      return { ...answer, headers: { 'content-range': `bytes */${object.size}` } };
    }
    return {
      status: 206,
      headers: { ...headers, 'content-range': `bytes ${from}-${to}/${object.size}` },
      body: data.subarray(from, to + 1),
    };
  }

  async function remove(ctx: RouteContext<{ bucket: string; object: string }>): Promise<FakeReply> {
    const bucket = bucketOf(ctx.params.bucket);
    const object = objectOf(bucket, ctx.params.object);
    const generation = ctx.query.get('generation');
    if (generation !== null && generation !== object.generation)
      fail(404, 'notFound', `No such object: ${object.bucket}/${object.name}`);
    checkConditions(ctx.query, object);
    bucket.objects.delete(object.name);
    await rm(object.file, { force: true });
    return { status: 204 };
  }

  const createBucket = (name: string) => {
    if (!buckets.has(name))
      buckets.set(name, { name, timeCreated: new Date().toISOString(), labels: {}, objects: new Map() });
  };

  const routes: Route[] = [
    route('GET', '/storage/v1/b', (ctx) => {
      const page = paginateGoogle(
        [...buckets.values()].sort((a, b) => a.name.localeCompare(b.name)),
        ctx,
        {
          defaultSize: 1000,
          maxSize: 1000,
        },
      );
      return reply(200, {
        kind: 'storage#buckets',
        ...(page.items.length ? { items: page.items.map((b) => bucketResource(ctx, b)) } : {}),
        ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      });
    }),
    route('POST', '/storage/v1/b', (ctx) => {
      const { name, labels } = ctx.body as { name: string; labels?: Record<string, string> };
      if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(name))
        fail(400, 'invalid', `Invalid bucket name: '${name}'`);
      if (buckets.has(name))
        fail(
          409,
          'conflict',
          'Your previous request to create the named bucket succeeded and you already own it.',
        );
      createBucket(name);
      const bucket = buckets.get(name)!;
      if (labels) bucket.labels = labels;
      return reply(200, bucketResource(ctx, bucket));
    }),
    route('GET', '/storage/v1/b/{bucket}', (ctx) =>
      reply(200, bucketResource(ctx, bucketOf(ctx.params.bucket))),
    ),
    route('DELETE', '/storage/v1/b/{bucket}', (ctx) => {
      const bucket = bucketOf(ctx.params.bucket);
      if (bucket.objects.size) fail(409, 'conflict', 'The bucket you tried to delete is not empty.');
      buckets.delete(bucket.name);
      return { status: 204 };
    }),
    route('GET', '/storage/v1/b/{bucket}/o', list),
    route('GET', '/storage/v1/b/{bucket}/o/{object}', get),
    route('DELETE', '/storage/v1/b/{bucket}/o/{object}', remove),
    route('POST', '/upload/storage/v1/b/{bucket}/o', whileConnected(upload), {
      operationId: 'storage.objects.insert',
      streamBody: true,
    }),
    route('PUT', '/upload/storage/v1/b/{bucket}/o', whileConnected(chunk), {
      operationId: resumableOperations.chunk,
      streamBody: true,
    }),
    route('DELETE', '/upload/storage/v1/b/{bucket}/o', cancel, { operationId: resumableOperations.cancel }),
  ];

  return {
    routes,
    createBucket,
    read(bucketName, name) {
      const object = buckets.get(bucketName)?.objects.get(name);
      if (!object) return undefined;
      return { object, stream: () => createReadStream(object.file) as AsyncIterable<Buffer> };
    },
    openSessions: () => [...sessions.values()].filter((s) => !s.done && !s.failed).length,
    async close() {
      await rm(options.dir, { recursive: true, force: true });
    },
  };
}

/** The client closed the connection before its request body ended. */
class BodyEnded extends Error {}

async function* ended(body: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncIterable<Buffer> {
  if (!(Symbol.asyncIterator in body)) {
    yield* body;
    return;
  }
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (e) {
      throw new BodyEnded(`the request body ended early: ${(e as Error).message}`);
    }
    if (next.done) return;
    yield next.value;
  }
}

/** A client that goes away mid-body is not the emulator's failure: it is answered (nobody reads it). */
function whileConnected<C>(handler: (ctx: C) => Promise<FakeReply>): (ctx: C) => Promise<FakeReply> {
  return async (ctx) => {
    try {
      return await handler(ctx);
    } catch (e) {
      if (e instanceof BodyEnded) return googleError(400, 'invalid', e.message);
      throw e;
    }
  };
}

function parseGoogHash(header: string | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const part of (header ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === 'crc32c') out.crc32c = value;
    else if (key === 'md5') out.md5 = value;
  }
  return out;
}

interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** multipart/related (RFC 2387) as the JSON API's multipart upload sends it. */
function splitMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return parts;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, at);
    if (next < 0) break;
    // the part lies between the CRLF after the delimiter and the CRLF before the next one
    let part = body.subarray(at, next);
    if (part.subarray(0, 2).toString() === '\r\n') part = part.subarray(2);
    if (part.subarray(-2).toString() === '\r\n') part = part.subarray(0, -2);
    const split = part.indexOf('\r\n\r\n');
    const head = split < 0 ? '' : part.subarray(0, split).toString('utf8');
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: split < 0 ? part : part.subarray(split + 4) });
    at = next;
  }
  return parts;
}
