import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { fitsOneVmdkExtent, streamOptimizedVmdk } from '@mantle/cluster/stream-vmdk';
import { afterAll, describe, expect, it } from 'vitest';
import { pattern, sparseImage } from './ore-verbs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const dir = mkdtempSync(join(tmpdir(), 'stream-vmdk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// qemu-img is the independent reader: the VMDK must mean to it what the raw image means.
const qemuImg = spawnSync('qemu-img', ['--version']).status === 0;
if (!qemuImg) console.warn('stream-vmdk: qemu-img not found (apt-get install qemu-utils): its checks skip');

async function vmdkOf(path: string, size: number, identity = 'test') {
  const read: number[] = [];
  const { chunks, stats } = streamOptimizedVmdk({
    path,
    size,
    identity,
    onRead: (n) => read.push(n),
    signal: AbortSignal.timeout(30_000),
  });
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return { vmdk: Buffer.concat(parts), stats, read };
}

/** Walks the stream as a reader without the directory would: grains and markers, in order. */
function walk(vmdk: Buffer) {
  const grainsAt = Number(vmdk.readBigUInt64LE(64)) * 512;
  const grains = new Map<number, Buffer>();
  const markers: Array<{ type: number; sectors: number; at: number }> = [];
  for (let at = grainsAt; at < vmdk.length; ) {
    const value = Number(vmdk.readBigUInt64LE(at));
    const size = vmdk.readUInt32LE(at + 8);
    if (size > 0) {
      grains.set(value, inflateSync(vmdk.subarray(at + 12, at + 12 + size)));
      at += Math.ceil((12 + size) / 512) * 512;
    } else {
      const type = vmdk.readUInt32LE(at + 12);
      markers.push({ type, sectors: value, at: at / 512 });
      at += 512 + value * 512;
    }
  }
  return { grains, markers };
}

describe('stream-optimized VMDK of a raw image', () => {
  // 70 MiB + 1.5 KiB: data in three grain tables' ranges, a grain that is data but compresses well,
  // and a last grain only partly inside the disk
  const size = 70 * MiB + 3 * 512;
  const raw = join(dir, 'disk.raw');
  const writes = [
    { offset: 5000, data: pattern(100 * KiB, 1) },
    { offset: 40 * MiB + 7, data: Buffer.alloc(300 * KiB, 'abc') },
    { offset: size - 800, data: pattern(700, 2) },
  ];
  sparseImage(raw, size, writes);

  it('holds only the grains that are not all zero, deflated, with tables, directory and footer', async () => {
    const { vmdk, stats, read } = await vmdkOf(raw, size);
    expect(vmdk.length % 512).toBe(0);
    expect(stats.bytesOut).toBe(vmdk.length);
    expect(read.reduce((a, b) => a + b, 0)).toBe(size);
    const head = vmdk.subarray(0, 512);
    expect(head.subarray(0, 4).toString('latin1')).toBe('KDMV');
    expect(head.readUInt32LE(4)).toBe(3);
    expect(head.readUInt32LE(8)).toBe(0x30001);
    expect(head.readBigUInt64LE(12)).toBe(BigInt(size / 512));
    expect(head.readBigUInt64LE(56)).toBe(0xffff_ffff_ffff_ffffn); // directory at the end
    expect(head.readUInt16LE(77)).toBe(1); // deflate
    const text = vmdk.subarray(512, 512 * 20).toString('utf8');
    expect(text).toContain('createType="streamOptimized"');
    expect(text).toContain(`RW ${size / 512} SPARSE`);

    const totalGrains = Math.ceil(size / (64 * KiB));
    const dataGrains = new Set<number>();
    for (const w of writes)
      for (let g = Math.floor(w.offset / (64 * KiB)); g * 64 * KiB < w.offset + w.data.length; g++)
        dataGrains.add(g);
    expect(stats).toMatchObject({ grains: totalGrains, zeroGrains: totalGrains - dataGrains.size });

    const { grains, markers } = walk(vmdk);
    expect([...grains.keys()].map((lba) => lba / 128)).toEqual([...dataGrains].sort((a, b) => a - b));
    const file = readFileSync(raw);
    for (const [lba, data] of grains) {
      expect(data.length).toBe(64 * KiB); // the partial last grain too, padded with zeros
      const expected = Buffer.alloc(64 * KiB);
      file.copy(expected, 0, lba * 512, lba * 512 + 64 * KiB);
      expect(data.equals(expected)).toBe(true);
    }
    // one table per 32 MiB range holding data (three), then directory, footer, end of stream
    expect(markers.map((m) => m.type)).toEqual([1, 1, 1, 2, 3, 0]);
    const directoryAt = markers[3]!.at + 1;
    const footer = vmdk.subarray((markers[4]!.at + 1) * 512, (markers[4]!.at + 2) * 512);
    expect(footer.readBigUInt64LE(56)).toBe(BigInt(directoryAt));
    expect(footer.subarray(0, 56).equals(head.subarray(0, 56))).toBe(true);
    expect(vmdk.subarray(vmdk.length - 512).equals(Buffer.alloc(512))).toBe(true);
    const directory = [0, 1, 2].map((i) => vmdk.readUInt32LE(directoryAt * 512 + i * 4));
    expect(directory).toEqual(markers.slice(0, 3).map((m) => m.at + 1));
  });

  it('makes the same bytes from the same image (a resumed upload reuses its parts)', async () => {
    const a = await vmdkOf(raw, size);
    const b = await vmdkOf(raw, size);
    expect(a.vmdk.equals(b.vmdk)).toBe(true);
  });

  it.skipIf(!qemuImg)('reads back through qemu-img as the raw image, and checks clean', async () => {
    const { vmdk } = await vmdkOf(raw, size);
    const path = join(dir, 'disk.vmdk');
    writeFileSync(path, vmdk);
    const info = spawnSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout) as {
      format: string;
      'virtual-size': number;
      'format-specific': { data: { 'create-type': string; extents: Array<{ compressed?: boolean }> } };
    };
    expect(parsed.format).toBe('vmdk');
    expect(parsed['virtual-size']).toBe(size);
    expect(parsed['format-specific'].data['create-type']).toBe('streamOptimized');
    expect(parsed['format-specific'].data.extents[0]?.compressed).toBe(true);
    const check = spawnSync('qemu-img', ['check', path], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const back = join(dir, 'back.raw');
    const convert = spawnSync('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', path, back], {
      encoding: 'utf8',
    });
    expect(convert.status, convert.stderr).toBe(0);
    expect(readFileSync(back).equals(readFileSync(raw))).toBe(true);
  });

  it('knows where one extent ends: 2 TiB of stream, addressed in 32-bit sectors', () => {
    expect(fitsOneVmdkExtent(1024 ** 4)).toBe(true);
    expect(fitsOneVmdkExtent(2 * 1024 ** 4)).toBe(false);
  });

  it('describes an all-zero disk with no grain and no table', async () => {
    const empty = join(dir, 'empty.raw');
    sparseImage(empty, 3 * MiB, []);
    const { vmdk, stats } = await vmdkOf(empty, 3 * MiB);
    expect(stats).toMatchObject({ grains: 48, zeroGrains: 48 });
    expect(walk(vmdk).markers.map((m) => m.type)).toEqual([2, 3, 0]);
    if (qemuImg) {
      const path = join(dir, 'empty.vmdk');
      writeFileSync(path, vmdk);
      const back = join(dir, 'empty.back');
      expect(spawnSync('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', path, back]).status).toBe(0);
      expect(readFileSync(back).equals(Buffer.alloc(3 * MiB))).toBe(true);
    }
  });
});
