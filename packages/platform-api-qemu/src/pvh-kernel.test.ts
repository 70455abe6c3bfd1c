import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultImageDir } from './image.js';

// image/pvh-kernel.mjs, run by the image build: the ELF inside a bzImage, when QEMU can boot it at
// its PVH entry. Real kernels are covered by the VM tests (both test images boot that way); these
// build small bzImages whose every byte is known.

const script = join(defaultImageDir(), 'pvh-kernel.mjs');
const dir = mkdtempSync(join(tmpdir(), 'pvh-kernel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 64-bit ELF with one PT_NOTE holding one note, then `tail` bytes. */
function elf(note: { name: string; type: number }, tail = Buffer.alloc(0)): Buffer {
  const name = Buffer.from(note.name, 'latin1');
  const noteBytes = Buffer.alloc(12 + Math.ceil(name.length / 4) * 4 + 8);
  noteBytes.writeUInt32LE(name.length, 0);
  noteBytes.writeUInt32LE(8, 4);
  noteBytes.writeUInt32LE(note.type, 8);
  name.copy(noteBytes, 12);
  const header = Buffer.alloc(64 + 56);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeBigUInt64LE(64n, 0x20); // e_phoff
  header.writeUInt16LE(56, 0x36);
  header.writeUInt16LE(1, 0x38);
  header.writeUInt32LE(4, 64); // PT_NOTE
  header.writeBigUInt64LE(BigInt(header.length), 64 + 0x08);
  header.writeBigUInt64LE(BigInt(noteBytes.length), 64 + 0x20);
  return Buffer.concat([header, noteBytes, tail]);
}

const lz4Length = (n: number) => {
  const out: number[] = [];
  for (n -= 15; n >= 255; n -= 255) out.push(255);
  out.push(n);
  return out;
};

/**
 * The kernel's legacy LZ4 frame of `literal` followed by a 300-byte match that overlaps itself
 * (offset 3) and 5 more literals; returns the frame with its size trailer and what it decompresses to.
 */
function lz4Frame(literal: Buffer): { frame: Buffer; plain: Buffer } {
  const match = 300;
  const block = Buffer.from([
    (15 << 4) | 15,
    ...lz4Length(literal.length),
    ...literal,
    3,
    0, // offset 3
    ...lz4Length(match - 4),
    5 << 4, // the last sequence: literals only
    ...Buffer.from('tail!'),
  ]);
  const plain = Buffer.alloc(literal.length + match + 5);
  literal.copy(plain);
  for (let i = literal.length; i < literal.length + match; i++) plain[i] = plain[i - 3]!;
  Buffer.from('tail!').copy(plain, literal.length + match);
  const frame = Buffer.alloc(4 + 4 + block.length + 4);
  frame.writeUInt32LE(0x184c2102, 0);
  frame.writeUInt32LE(block.length, 4);
  block.copy(frame, 8);
  frame.writeUInt32LE(plain.length, 8 + block.length);
  return { frame, plain };
}

function bzImage(payload: Buffer): string {
  const setupSectors = 1;
  const bz = Buffer.alloc((setupSectors + 1) * 512 + payload.length);
  bz[0x1f1] = setupSectors;
  bz.writeUInt32LE(0x53726448, 0x202); // "HdrS"
  bz.writeUInt16LE(0x020f, 0x206);
  bz.writeUInt32LE(0, 0x248);
  bz.writeUInt32LE(payload.length, 0x24c);
  payload.copy(bz, (setupSectors + 1) * 512);
  const path = join(dir, `bz-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, bz);
  return path;
}

function extract(path: string) {
  const out = `${path}.vmlinux`;
  const r = spawnSync(process.execPath, [script, path, out], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.trim(), out: existsSync(out) ? readFileSync(out) : undefined };
}

describe('image/pvh-kernel.mjs', () => {
  const pvh = { name: 'Xen\0', type: 18 };

  it('writes the ELF of an LZ4 bzImage with a PVH entry, byte for byte', () => {
    const { frame, plain } = lz4Frame(elf(pvh, Buffer.from('abcdefgh')));
    const r = extract(bzImage(frame));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.out?.equals(plain)).toBe(true);
  });

  it('writes the ELF of a gzip bzImage', () => {
    const kernel = elf(pvh);
    const r = extract(bzImage(gzipSync(kernel)));
    expect(r.status).toBe(0);
    expect(r.out?.equals(kernel)).toBe(true);
  });

  it('writes nothing, and says why, for kernels QEMU must boot as bzImages', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [lz4Frame(elf({ name: 'Xen\0', type: 17 })).frame, /no PVH entry point/],
      [lz4Frame(elf({ name: 'Linux\0', type: 18 })).frame, /no PVH entry point/],
      [
        Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]), Buffer.alloc(64)]),
        /other than LZ4 or gzip/,
      ],
      [
        gzipSync(Buffer.from('not an elf at all, just some bytes to pad it')),
        /not a 64-bit little-endian ELF/,
      ],
    ];
    for (const [payload, why] of cases) {
      const r = extract(bzImage(payload));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(r.out).toBeUndefined();
    }
    const notBz = join(dir, 'plain');
    writeFileSync(notBz, Buffer.alloc(4096));
    expect(extract(notBz)).toMatchObject({ status: 1, stderr: 'not a bzImage (no HdrS)', out: undefined });
    // a frame that claims more bytes than its blocks hold
    const { frame } = lz4Frame(elf(pvh));
    frame.writeUInt32LE(frame.readUInt32LE(frame.length - 4) + 1, frame.length - 4);
    expect(extract(bzImage(frame))).toMatchObject({ status: 1, stderr: /not the \d+ it states/ });
  });
});
