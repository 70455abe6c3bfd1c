import { ConfigError, errorMessage } from '@mantle/cluster';
import type { GceClients } from '../api/clients.js';
import { deleteObject, getObject, objectSourceUri, startResumableUpload } from '../api/storage.js';
import { sanitizeImageName } from '../image.js';
import { ownerLabel } from '../labels.js';
import { storeUnit } from '../upload/deflate-block.js';
import { resumableUpload, UploadSessionExpiredError } from '../upload/resumable.js';
import { type ImageFile, inspectImageFile, rawDiskSource, tarGzSource } from '../upload/source.js';
import {
  allocatedRegions,
  defaultHoleBlock,
  type Extent,
  extentBytes,
  scanDataExtents,
} from '../upload/sparse-map.js';
import {
  readUploadState,
  removeUploadState,
  type UploadStateFile,
  uploadTarget,
  writeUploadState,
} from '../upload/state.js';
import {
  bucketOf,
  clearImageName,
  ensureBucket,
  imagePlan,
  imageSummary,
  makeImage,
  withClients,
} from './common.js';
import type { GceVerbInput, uploadOptions } from './schemas.js';

const gzipBlock = 1024 * 1024;

function sameFile(state: UploadStateFile, file: ImageFile): boolean {
  return (
    state.file.path === file.path && state.file.size === file.size && state.file.mtimeMs === file.mtimeMs
  );
}

function sameFormat(state: UploadStateFile, file: ImageFile, level: number): boolean {
  if (file.kind === 'targz') return state.format.kind === 'targz';
  return (
    state.format.kind === 'raw' &&
    state.format.level === level &&
    state.format.blockSize === gzipBlock &&
    state.format.holeBlock === defaultHoleBlock &&
    state.format.storeUnit === storeUnit &&
    Array.isArray(state.extents)
  );
}

/**
 * `ore gcloud upload`: the file (a raw disk, made into GCE's sparse tar.gz on the way, or a ready
 * tar.gz) into a resumable upload of `<prefix>/<name>.tar.gz`, then images.insert. What an
 * interrupted run uploaded is not sent again; an object or image that exists is an error naming
 * --force (mantle asked y/n on stdin), except the object this very file made in an earlier run.
 */
export async function runUpload({
  options,
  platformOptions,
  log,
  signal,
  io,
}: GceVerbInput<typeof uploadOptions>) {
  const plan = imagePlan(options);
  const file = await inspectImageFile(options.file);
  return withClients({ platformOptions, log }, async (clients) => {
    const { bucket, prefix } = bucketOf(options.bucket, clients.project);
    const objectName = `${prefix ? `${prefix}/` : ''}${options.name}.tar.gz`;
    const imageName = options.imageName ?? sanitizeImageName(options.name);
    const target = uploadTarget(clients.project, bucket, objectName);
    const ctx = { signal, log };

    let state = readUploadState(target);
    if (state && (!sameFile(state, file) || !sameFormat(state, file, options.gzipLevel))) {
      log.notice(
        `gce: an earlier upload to gs://${bucket}/${objectName} was of another file or format: starting afresh`,
      );
      removeUploadState(target);
      state = undefined;
    }
    // the hole scan needs no answer from the API: it runs while the checks below are asked
    const scanStop = new AbortController();
    const scanning =
      file.kind === 'raw' && !state?.extents
        ? scanHoles(file, AbortSignal.any([signal, scanStop.signal]), io)
        : undefined;
    scanning?.catch(() => {}); // seen when awaited; an API check failing first stops it
    try {
      return await uploadAndMakeImage(scanning);
    } finally {
      scanStop.abort(new Error('the upload stopped'));
      await scanning?.catch(() => {});
    }

    async function uploadAndMakeImage(scanning: Promise<Extent[]> | undefined) {
      // independent checks, asked at once
      const [, existing] = await Promise.all([
        clearImageName(clients, imageName, options.force, ctx),
        ensureBucket(clients, bucket, ctx).then(() => getObject(clients, bucket, objectName, ctx)),
      ]);
      const madeByUs =
        existing &&
        state?.finished &&
        existing.crc32c === state.finished.crc32c &&
        (!state.finished.generation || state.finished.generation === existing.generation);
      if (existing && !madeByUs) {
        if (!options.force)
          throw new ConfigError(`gs://${bucket}/${objectName} already exists`, {
            hint: 'pass --force to replace it (and the image), or choose another --name',
          });
        log.notice(`gce: --force: deleting gs://${bucket}/${objectName}`);
        await deleteObject(clients, bucket, objectName, ctx);
        if (state) removeUploadState(target);
        state = undefined;
      }

      let upload: { bytesSent: number; resumedAt: number; crc32c: string; size: number } | undefined;
      if (madeByUs) {
        log.notice(
          `gce: gs://${bucket}/${objectName} was uploaded from this file by an earlier run: reusing it`,
        );
      } else {
        upload = await uploadFile(clients, {
          file,
          scanning,
          bucket,
          objectName,
          target,
          state,
          expiresAt: plan.expiresAt,
          level: options.gzipLevel,
          parallel: options.parallel,
          chunkSize: options.chunkMib * 1024 * 1024,
          signal,
          log,
          io,
        });
      }

      const image = await makeImage(
        clients,
        { name: imageName, sourceUri: objectSourceUri(bucket, objectName), flags: options, plan },
        ctx,
      );
      if (options.deleteObject) {
        await deleteObject(clients, bucket, objectName, ctx);
        removeUploadState(target);
      }
      const result = {
        image: imageSummary(image),
        object: `gs://${bucket}/${objectName}`,
        objectDeleted: options.deleteObject,
        ...(upload
          ? {
              bytesSent: upload.bytesSent,
              resumedAt: upload.resumedAt,
              objectSize: upload.size,
              crc32c: upload.crc32c,
            }
          : { reused: true }),
      };
      io.result(result, `${image.selfLink ?? image.name}`);
      return 0;
    }
  });
}

/** The raw disk's data extents: the file system's map first, so that holes are not read at all. */
async function scanHoles(
  file: ImageFile,
  signal: AbortSignal,
  io: GceVerbInput<typeof uploadOptions>['io'],
): Promise<Extent[]> {
  const regions = await allocatedRegions(file.path, file.size, signal);
  const toRead = regions ? extentBytes(regions) : file.size;
  const scan = io.progress('scanning for holes', { total: toRead, unit: 'bytes' });
  try {
    const extents = await scanDataExtents(file.path, file.size, {
      signal,
      onRead: (n) => scan.advance(n),
      ...(regions ? { regions } : {}),
    });
    scan.done(`${extents.length} extents, ${extentBytes(extents)} bytes of data in ${file.size}`);
    return extents;
  } catch (e) {
    scan.done();
    throw e;
  }
}

interface UploadFileInput {
  file: ImageFile;
  /** The hole scan under way (a raw disk without saved extents). */
  scanning: Promise<Extent[]> | undefined;
  bucket: string;
  objectName: string;
  target: string;
  state: UploadStateFile | undefined;
  expiresAt: string | undefined;
  level: number;
  parallel: number | undefined;
  chunkSize: number;
  signal: AbortSignal;
  log: GceVerbInput<typeof uploadOptions>['log'];
  io: GceVerbInput<typeof uploadOptions>['io'];
}

async function uploadFile(clients: GceClients, input: UploadFileInput) {
  const { file, signal, log, io } = input;
  let state = input.state;
  const startSession = () =>
    startResumableUpload(
      clients,
      {
        bucket: input.bucket,
        name: input.objectName,
        contentType: 'application/gzip',
        metadata: {
          [ownerLabel.key]: ownerLabel.value,
          'source-file': file.path.split('/').pop() ?? '',
          ...(input.expiresAt ? { 'expires-at': input.expiresAt } : {}),
        },
      },
      { signal, log },
    );
  // the session is asked for while the hole scan ends
  const starting = state?.session ? undefined : startSession();
  starting?.catch(() => {}); // seen when awaited
  if (file.kind === 'raw' && !state?.extents) {
    if (!input.scanning) throw new Error('a raw disk without extents and no scan');
    // kept in the state file, so that a resumed run never reads the holes again
    state = newState(input, await input.scanning);
  }
  for (let fresh = false; ; fresh = true) {
    if (!state?.session || fresh) {
      const session = await (!fresh && starting ? starting : startSession());
      state = { ...(state ?? newState(input, undefined)), session };
      delete state.acknowledged;
      writeUploadState(state);
    }
    const current = state;
    const dataTotal = file.kind === 'raw' ? extentBytes(current.extents ?? []) : file.size;
    const bar = io.progress(`uploading gs://${input.bucket}/${input.objectName}`, {
      total: dataTotal,
      unit: 'bytes',
    });
    let savedAt = current.acknowledged?.offset ?? 0;
    const open =
      file.kind === 'raw'
        ? rawDiskSource(file, {
            extents: current.extents ?? [],
            level: input.level,
            blockSize: gzipBlock,
            parallel: input.parallel,
            mtime: Math.floor(file.mtimeMs / 1000),
            signal,
            onRead: (n) => bar.advance(n),
          })
        : tarGzSource(file, current.acknowledged, signal, (n) => bar.advance(n));
    try {
      const result = await resumableUpload({
        clients,
        session: current.session,
        open,
        chunkSize: input.chunkSize,
        signal,
        log,
        onAcknowledged: (offset, crc) => {
          if (!Number.isFinite(crc)) return;
          current.acknowledged = { offset, crc };
          // requests can be small (resumable.ts): the checkpoint is saved once per chunk's worth
          if (offset - savedAt < input.chunkSize) return;
          savedAt = offset;
          writeUploadState(current);
        },
      });
      bar.done();
      if (result.resumedAt > 0) log.notice(`gce: resumed the upload at byte ${result.resumedAt}`);
      current.finished = {
        crc32c: result.crc32c,
        ...(result.object.generation ? { generation: result.object.generation } : {}),
      };
      writeUploadState(current);
      return {
        bytesSent: result.bytesSent,
        resumedAt: result.resumedAt,
        crc32c: result.crc32c,
        size: Number(result.object.size ?? 0),
      };
    } catch (e) {
      bar.done();
      if (e instanceof UploadSessionExpiredError && !fresh) {
        log.notice('gce: the saved upload session has expired: starting a new one');
        continue;
      }
      if (signal.aborted)
        log.notice(`gce: upload interrupted; the same command resumes it (${errorMessage(e)})`);
      throw e;
    }
  }
}

function newState(input: UploadFileInput, extents: UploadStateFile['extents']): UploadStateFile {
  return {
    version: 1,
    target: input.target,
    session: '',
    file: { path: input.file.path, size: input.file.size, mtimeMs: input.file.mtimeMs },
    format:
      input.file.kind === 'raw'
        ? { kind: 'raw', level: input.level, blockSize: gzipBlock, holeBlock: defaultHoleBlock, storeUnit }
        : { kind: 'targz' },
    ...(extents ? { extents } : {}),
  };
}
