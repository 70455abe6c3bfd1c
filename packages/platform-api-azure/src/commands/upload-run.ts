import { basename } from 'node:path';
import { ConfigError, expiryFrom } from '@mantle/cluster';
import { openAzureSession } from '../api/session.js';
import { blobServiceUrl } from '../options.js';
import { ownerTag } from '../tags.js';
import { describeDisk, rangesFromPageList, uploadDisk } from '../upload.js';
import type { AzureVerbInput, uploadBlobOptions } from './schemas.js';

/**
 * `ore azure upload-blob`: the storage account's first key from Resource Manager, then the disk to a
 * page blob (see uploadDisk). An existing blob of the same size is resumed from its page ranges; one
 * of another size is refused unless --overwrite.
 */
export async function runUploadBlob(input: AzureVerbInput<typeof uploadBlobOptions>): Promise<number> {
  const { options: o, platformOptions, signal, io, log } = input;
  const source = await describeDisk(o.file, o.validate);
  const expiresAt = expiryFrom(o);
  const blobName =
    o.blobName ??
    (/\.vhd$/i.test(o.file) ? basename(o.file) : `${basename(o.file).replace(/\.(raw|img|bin)$/i, '')}.vhd`);
  if (!/\.vhd$/i.test(blobName))
    throw new ConfigError(`--blob-name ${blobName}: must end in .vhd (Azure images are VHD blobs)`);

  const session = await openAzureSession(platformOptions, log);
  const keys = await session.storage.storageAccounts.listKeys(o.resourceGroup, o.storageAccount, {
    abortSignal: signal,
  });
  const key = keys.keys?.[0]?.value;
  if (!key)
    throw new ConfigError(`--storage-account ${o.storageAccount}: Resource Manager gave no key for it`);
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
  const service = new BlobServiceClient(
    blobServiceUrl(platformOptions, o.storageAccount),
    new StorageSharedKeyCredential(o.storageAccount, key),
  );
  const container = service.getContainerClient(o.container);
  await container.createIfNotExists({ abortSignal: signal });
  const blob = container.getPageBlobClient(blobName);

  let existing = rangesFromPageList([]);
  const props = await blob.getProperties({ abortSignal: signal }).catch((e: { statusCode?: number }) => {
    if (e.statusCode === 404) return undefined;
    throw e;
  });
  if (props && props.contentLength !== source.blobBytes && !o.overwrite)
    throw new ConfigError(
      `${o.container}/${blobName}: a blob of ${props.contentLength} bytes is there, this disk makes ${source.blobBytes}; pass --overwrite to replace it`,
    );
  if (props && props.contentLength === source.blobBytes) {
    const list: { start: number; end: number }[] = [];
    // every page of the list (a fragmented blob's answer comes in several)
    for await (const range of blob.listPageRanges(0, undefined, { abortSignal: signal })) list.push(range);
    existing = rangesFromPageList(list);
    log.notice(`azure: resuming ${o.container}/${blobName}: ${existing.length} ranges already there`);
  } else {
    await blob.create(source.blobBytes, {
      abortSignal: signal,
      metadata: {
        [ownerTag.key]: ownerTag.value,
        createdAt: new Date().toISOString(),
        ...(expiresAt ? { expiresAt } : {}),
      },
    });
  }
  const progress = io.progress(`upload ${blobName}`, { total: source.fileDataBytes, unit: 'bytes' });
  let shown = 0;
  const stats = await uploadDisk({
    blob,
    file: o.file,
    source,
    existing,
    concurrency: o.concurrency,
    signal,
    log,
    onProgress: (read) => {
      progress.advance(read - shown);
      shown = read;
    },
  });
  progress.done();
  log.notice(
    `azure: ${o.container}/${blobName}: ${source.kind} disk, ${stats.writes} page writes, ${stats.bytesSent} bytes sent, ${stats.bytesResumed} already there`,
  );
  io.result({ URL: blob.url }, `${JSON.stringify({ URL: blob.url })}\n`);
  return 0;
}
