import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeDiskArchive } from './disk-archive-fixtures.js';
import { checkDiskArchive, InvalidImageArchive } from './image-archive.js';

const chunks = async function* (data: Buffer, size = 7919) {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
};
const check = (data: Buffer) => checkDiskArchive(chunks(data));
const refusal = async (data: Buffer) => {
  const e = await check(data).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(InvalidImageArchive);
  return e as InvalidImageArchive;
};

describe('the disk archive GCE imports (tar.gz holding disk.raw)', () => {
  it('takes oldgnu sparse: the real size from the sparse header, only the islands stored', async () => {
    const archive = makeDiskArchive();
    expect(archive.length).toBeLessThan(1024 * 1024);
    expect(await check(archive)).toEqual({
      diskSizeBytes: 1024 ** 3,
      storedBytes: 3 * 64 * 1024,
      sparse: true,
    });
  });

  it('takes a sparse map longer than the header holds (extension blocks) and GNU format', async () => {
    expect(await check(makeDiskArchive({ islands: 40, sizeBytes: 2 * 1024 ** 3 }))).toEqual({
      diskSizeBytes: 2 * 1024 ** 3,
      storedBytes: 40 * 64 * 1024,
      sparse: true,
    });
    expect((await check(makeDiskArchive({ format: 'gnu' }))).diskSizeBytes).toBe(1024 ** 3);
  });

  it('refuses pax (tar --format=posix), another name, a second file, a size off whole GiB', async () => {
    expect((await refusal(makeDiskArchive({ format: 'posix' }))).message).toMatch(/not a valid image.*pax/);
    const misnamed = await refusal(makeDiskArchive({ name: 'output.img' }));
    expect(misnamed.message).toBe(
      "The file inside the tar archive was named 'output.img'. It should be named 'disk.raw'.",
    );
    expect(misnamed.code).toBe('INVALID_IMAGE_TAR');
    expect((await refusal(makeDiskArchive({ extra: 'README' }))).message).toMatch(
      /more than disk\.raw: README/,
    );
    const odd = await refusal(makeDiskArchive({ sizeBytes: 1024 ** 3 + 512 }));
    expect(odd.code).toBe('INVALID_IMAGE_FILE');
    expect(odd.message).toMatch(/multiple of 1 GB; disk.raw is 1073742336 bytes/);
  });

  it('refuses what is not a whole gzip of a tar: plain bytes, a cut archive, a gzip of text', async () => {
    expect((await refusal(Buffer.from('not an archive at all'))).message).toMatch(
      /^The tar archive is not a valid image\./,
    );
    const archive = makeDiskArchive();
    await refusal(archive.subarray(0, Math.floor(archive.length / 2)));
    expect((await refusal(gzipSync(Buffer.alloc(2048, 'x')))).message).toMatch(/checksum|GNU or ustar/);
    expect((await refusal(gzipSync(Buffer.alloc(0)))).message).toMatch(/holds no file/);
  });
});
