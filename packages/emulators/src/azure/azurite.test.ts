import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Azurite, startAzurite } from './azurite.js';

describe('azurite, started by the test itself', () => {
  let azurite: Azurite;
  beforeAll(async () => {
    azurite = await startAzurite({
      accounts: [{ name: 'kola', key: Buffer.alloc(64, 7).toString('base64') }],
    });
  });
  afterAll(() => azurite?.close());

  it('serves page blobs for the development account and an extra one', async () => {
    for (const account of azurite.accounts) {
      const client = new BlobServiceClient(
        azurite.blobUrl(account.name),
        new StorageSharedKeyCredential(account.name, account.key),
      );
      const container = client.getContainerClient('vhds');
      await container.createIfNotExists();
      const blob = container.getPageBlobClient('a.vhd');
      await blob.create(4 * 1024 * 1024);
      await blob.uploadPages(Buffer.alloc(1024, 1), 512 * 8, 1024);
      const ranges = await blob.getPageRanges();
      // the SDK's count is end − start of the service's inclusive end: 1023 for 1024 bytes (resume relies on it)
      expect(ranges.pageRange).toEqual([{ offset: 4096, count: 1023 }]);
    }
  });

  it('refuses a wrong key', async () => {
    const client = new BlobServiceClient(
      azurite.blobUrl('kola'),
      new StorageSharedKeyCredential('kola', Buffer.alloc(64, 1).toString('base64')),
    );
    await expect(client.getContainerClient('vhds').exists()).rejects.toMatchObject({ statusCode: 403 });
  });
});
