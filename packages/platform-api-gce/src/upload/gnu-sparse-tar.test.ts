import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  archiveSize,
  recordSize,
  type SparseMember,
  sparseTarStream,
  writeNumber,
} from './gnu-sparse-tar.js';
import { parallelGzip } from './parallel-gzip.js';
import { allocatedRegions, scanDataExtents } from './sparse-map.js';

// The archive is checked with Debian's GNU tar: it must list the member as GCE's importer sees it
// (`tar -tvSf`: disk.raw at its full size) and extract to the very same bytes.

const dir = mkdtempSync(join(tmpdir(), 'gce-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of gen) out.push(b);
  return Buffer.concat(out);
}

/** A sparse file of `size` with `pieces` written at their offsets. */
function sparseFile(name: string, size: number, pieces: Array<[number, Buffer]>): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  for (const [at, data] of pieces) writeSync(fd, data, 0, data.length, at);
  closeSync(fd);
  return path;
}

async function tarOf(path: string, name = 'disk.raw'): Promise<{ tar: string; member: SparseMember }> {
  const size = statSync(path).size;
  const member: SparseMember = {
    name,
    realSize: size,
    extents: await scanDataExtents(path, size),
    mtime: 1_700_000_000,
  };
  const tar = `${path}.tar`;
  writeFileSync(tar, await collect(sparseTarStream(path, member)));
  return { tar, member };
}

function extract(tar: string): string {
  const out = mkdtempSync(join(dir, 'x-'));
  execFileSync('tar', ['-xSf', tar, '-C', out]);
  return join(out, 'disk.raw');
}

const kib = 1024;
const mib = 1024 * kib;

describe('the GNU sparse tar, read by GNU tar', () => {
  const cases: Array<[string, number, Array<[number, Buffer]>]> = [
    [
      'data at both ends',
      4 * mib,
      [
        [0, randomBytes(10_000)],
        [4 * mib - 5000, randomBytes(5000)],
      ],
    ],
    ['ending in a hole', 4 * mib, [[12_345, randomBytes(3000)]]],
    ['all zero', 2 * mib, []],
    [
      // 4 entries in the header, 21 per extension block: 60 extents need two extension blocks
      'sixty extents',
      64 * mib,
      Array.from({ length: 60 }, (_, i) => [i * mib + 512 * i, randomBytes(700 + i)] as [number, Buffer]),
    ],
    [
      'a size that is not a multiple of 512',
      3 * mib + 100,
      [
        [3 * mib + 10, randomBytes(90)],
        [5, randomBytes(5)],
      ],
    ],
  ];
  for (const [what, size, pieces] of cases)
    it(`${what}: listed at its full size, extracted byte for byte`, async () => {
      const path = sparseFile(`${what.replace(/\W+/g, '-')}.raw`, size, pieces);
      const { tar, member } = await tarOf(path);
      expect(statSync(tar).size).toBe(archiveSize(member));
      expect(statSync(tar).size % recordSize).toBe(0);
      const listing = execFileSync('tar', ['-tvSf', tar], { encoding: 'utf8' });
      expect(listing).toMatch(
        new RegExp(`^-rw-r--r-- root/root\\s+${size} 2023-11-1\\d \\d\\d:\\d\\d disk\\.raw\\n$`),
      );
      const back = extract(tar);
      expect(statSync(back).size).toBe(size);
      expect(readFileSync(back).equals(readFileSync(path))).toBe(true);
      // holes stay holes: what tar wrote takes about the data's room, not the file's
      expect(statSync(back).blocks * 512).toBeLessThan(
        Math.max(64 * kib, (member.extents.length + 1) * 16 * kib),
      );
    });

  it('a disk over 8 GiB (base-256 sizes): listed at 10 GiB, data where it was, holes as zeros', async () => {
    const size = 10 * 1024 * mib;
    const a = randomBytes(4096);
    const b = randomBytes(8192);
    const at = 9 * 1024 * mib + 4096;
    const path = sparseFile('big.raw', size, [
      [0, a],
      [at, b],
    ]);
    // the extents are given rather than scanned: reading 10 GiB of holes is no unit test
    const member: SparseMember = {
      name: 'disk.raw',
      realSize: size,
      extents: [
        { offset: 0, length: 4096 },
        { offset: at, length: 8192 },
      ],
      mtime: 1_700_000_000,
    };
    const tar = join(dir, 'big.tar');
    writeFileSync(tar, await collect(sparseTarStream(path, member)));
    expect(statSync(tar).size).toBeLessThan(64 * kib);
    expect(execFileSync('tar', ['-tvSf', tar], { encoding: 'utf8' })).toContain(` ${size} `);
    const back = extract(tar);
    expect(statSync(back).size).toBe(size);
    const fd = openSync(back, 'r');
    const read = (offset: number, length: number) => {
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, offset);
      return buf;
    };
    expect(read(0, 4096).equals(a)).toBe(true);
    expect(read(at, 8192).equals(b)).toBe(true);
    expect(read(5 * 1024 * mib, 65_536).equals(Buffer.alloc(65_536))).toBe(true);
    expect(read(size - 4096, 4096).equals(Buffer.alloc(4096))).toBe(true);
    closeSync(fd);
  });

  it('yields buffers of exactly readSize but the last, the same archive whatever the size', async () => {
    const size = 2 * mib;
    const path = sparseFile('sizes.raw', size, [
      [4096, randomBytes(10_000)],
      [mib, randomBytes(70_000)],
    ]);
    const member: SparseMember = {
      name: 'disk.raw',
      realSize: size,
      extents: await scanDataExtents(path, size),
      mtime: 1,
    };
    const pieces: Buffer[] = [];
    for await (const piece of sparseTarStream(path, member, { readSize: 8192 })) pieces.push(piece);
    expect(pieces.slice(0, -1).every((p) => p.length === 8192)).toBe(true);
    expect(Buffer.concat(pieces).equals(await collect(sparseTarStream(path, member)))).toBe(true);
    expect(Buffer.concat(pieces).length).toBe(archiveSize(member));
  });

  it('through the parallel gzip: what `tar -xzSf` extracts is the disk, and gunzip agrees', async () => {
    const size = 8 * mib;
    const path = sparseFile('gz.raw', size, [
      [0, Buffer.from('hello '.repeat(100_000))],
      [5 * mib, randomBytes(300_000)],
    ]);
    const member: SparseMember = {
      name: 'disk.raw',
      realSize: size,
      extents: await scanDataExtents(path, size),
      mtime: 1_700_000_000,
    };
    const gz = await collect(
      parallelGzip(sparseTarStream(path, member), { blockSize: 64 * kib, parallel: 3 }),
    );
    const file = join(dir, 'gz.tar.gz');
    writeFileSync(file, gz);
    execFileSync('gzip', ['-t', file]);
    expect(gunzipSync(gz).equals(await collect(sparseTarStream(path, member)))).toBe(true);
    const out = mkdtempSync(join(dir, 'xz-'));
    execFileSync('tar', ['-xzSf', file, '-C', out]);
    expect(readFileSync(join(out, 'disk.raw')).equals(readFileSync(path))).toBe(true);
  });
});

describe('writeNumber', () => {
  it('writes octal with a NUL while it fits, GNU base-256 beyond', () => {
    const b = Buffer.alloc(12);
    writeNumber(b, 0, 12, 8 ** 11 - 1);
    expect(b.toString('latin1')).toBe('77777777777\0');
    writeNumber(b, 0, 12, 8 ** 11);
    expect(b[0]).toBe(0x80);
    expect(b.readBigUInt64BE(4)).toBe(BigInt(8 ** 11));
    expect(b.subarray(1, 4).equals(Buffer.alloc(3))).toBe(true);
  });
});

describe('scanDataExtents', () => {
  it('finds the 4 KiB blocks that are not all zero, merged, aligned to 512', async () => {
    const path = sparseFile('scan.raw', 64 * kib + 100, [
      [4096 + 1, Buffer.from([1])],
      [8192 + 4095, Buffer.from([2])],
      [20_000, Buffer.from([3])],
      [64 * kib + 99, Buffer.from([4])],
    ]);
    expect(await scanDataExtents(path, 64 * kib + 100, { readSize: 8192 })).toEqual([
      { offset: 4096, length: 8192 },
      { offset: 16_384, length: 4096 },
      { offset: 64 * kib, length: 100 },
    ]);
  });
});

describe('allocatedRegions (SEEK_DATA/SEEK_HOLE)', () => {
  it('a sparse file’s allocated regions, so the holes are never read; the scan within them is the full scan’s', async () => {
    const size = 256 * mib;
    const path = sparseFile('seek.raw', size, [
      [10 * mib, randomBytes(100)],
      [200 * mib + 3, randomBytes(70_000)],
    ]);
    const regions = await allocatedRegions(path, size);
    expect(regions).toBeDefined();
    // tmpfs and the usual disk file systems allocate per page or block: a few KiB per write
    const allocated = regions!.reduce((n, r) => n + r.length, 0);
    expect(allocated).toBeLessThan(2 * mib);
    expect(regions!.some((r) => r.offset <= 10 * mib && r.offset + r.length > 10 * mib)).toBe(true);
    let read = 0;
    const fast = await scanDataExtents(path, size, { regions: regions!, onRead: (n) => (read += n) });
    expect(read).toBe(allocated);
    expect(fast).toEqual(await scanDataExtents(path, size));
  });

  it('a file with no data at all: no regions', async () => {
    const path = sparseFile('empty-seek.raw', 8 * mib, []);
    expect(await allocatedRegions(path, 8 * mib)).toEqual([]);
  });
});
