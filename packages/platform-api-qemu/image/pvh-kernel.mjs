// node pvh-kernel.mjs BZIMAGE OUT
//
// Writes OUT: the kernel ELF (vmlinux) inside a bzImage, when its payload is LZ4 (the kernel's
// legacy frame, what Debian builds) or gzip and the ELF carries a PVH entry point (the Xen note
// PHYS32_ENTRY). QEMU boots such an ELF given to -kernel straight at that entry: no firmware
// real-mode setup, no decompression, which under TCG saves ~0.9 s of every boot. Exit status 0
// when OUT was written; 1, with the reason on stderr, when the bzImage should be booted as it is.
// Node only (no lz4 or binutils on the host), and part of the image's inputs.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const [bzImagePath, outPath] = process.argv.slice(2);
if (!bzImagePath || !outPath) {
  process.stderr.write('usage: node pvh-kernel.mjs BZIMAGE OUT\n');
  process.exit(2);
}

class NotPvh extends Error {}

/**
 * The kernel's legacy LZ4 frame: a magic, then blocks of (LE size, LZ4 block) until the end of `src`;
 * `expectedSize` is the uncompressed size the build appended, which the blocks must fill exactly.
 */
function lz4Legacy(src, expectedSize) {
  const out = Buffer.allocUnsafe(expectedSize);
  let op = 0;
  let ip = 4; // after the magic
  while (ip + 4 <= src.length) {
    const size = src.readUInt32LE(ip);
    if (size === 0x184c2102) {
      ip += 4; // another frame: its blocks follow
      continue;
    }
    ip += 4;
    if (size === 0 || ip + size > src.length) break; // the size trailer, or the end
    const end = ip + size;
    // a length of 15 in the token goes on in the following bytes, each 255 meaning more follows
    const length = (nibble) => {
      let n = nibble;
      if (nibble === 15)
        for (let b = 255; b === 255; ) {
          b = src[ip++];
          n += b;
        }
      return n;
    };
    while (ip < end) {
      const token = src[ip++];
      const literals = length(token >> 4);
      if (op + literals > out.length) throw new NotPvh('LZ4 payload larger than its stated size');
      src.copy(out, op, ip, ip + literals);
      op += literals;
      ip += literals;
      if (ip >= end) break; // the last sequence has literals only
      const offset = src[ip] | (src[ip + 1] << 8);
      ip += 2;
      const match = length(token & 15) + 4;
      if (offset === 0 || offset > op) throw new NotPvh('corrupt LZ4 payload (match before the start)');
      if (op + match > out.length) throw new NotPvh('LZ4 payload larger than its stated size');
      // byte by byte: a match may overlap the bytes it produces
      for (let i = 0; i < match; i++, op++) out[op] = out[op - offset];
    }
  }
  if (op !== expectedSize)
    throw new NotPvh(`LZ4 payload gave ${op} bytes, not the ${expectedSize} it states`);
  return out;
}

function payloadOf(bz) {
  if (bz.length < 0x250 || bz.readUInt32LE(0x202) !== 0x53726448) throw new NotPvh('not a bzImage (no HdrS)');
  if (bz.readUInt16LE(0x206) < 0x208) throw new NotPvh('boot protocol before 2.08 (no payload fields)');
  const setupSectors = bz[0x1f1] || 4;
  const start = (setupSectors + 1) * 512 + bz.readUInt32LE(0x248);
  const length = bz.readUInt32LE(0x24c);
  if (start + length > bz.length) throw new NotPvh('payload runs past the end of the file');
  const payload = bz.subarray(start, start + length);
  if (payload.readUInt32LE(0) === 0x184c2102) {
    // the build appends the uncompressed size (LE) to the payload
    return lz4Legacy(payload.subarray(0, length - 4), payload.readUInt32LE(length - 4));
  }
  if (payload[0] === 0x1f && payload[1] === 0x8b) return gunzipSync(payload);
  throw new NotPvh(
    `payload compressed with something other than LZ4 or gzip (magic ${payload.subarray(0, 4).toString('hex')})`,
  );
}

/** True when a PT_NOTE of the ELF has the Xen note PHYS32_ENTRY (18), which QEMU's PVH boot needs. */
function hasPvhEntry(elf) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new NotPvh('payload is not a 64-bit little-endian ELF');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const align4 = (n) => (n + 3) & ~3;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const offset = Number(elf.readBigUInt64LE(ph + 0x08));
    const end = offset + Number(elf.readBigUInt64LE(ph + 0x20));
    for (let at = offset; at + 12 <= end; ) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.subarray(at + 12, at + 12 + namesz).toString('latin1');
      if (name === 'Xen\0' && type === 18) return true;
      at += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}

try {
  const elf = payloadOf(readFileSync(bzImagePath));
  if (!hasPvhEntry(elf)) throw new NotPvh('the kernel has no PVH entry point (CONFIG_PVH)');
  const tmp = `${outPath}.tmp-${process.pid}`;
  writeFileSync(tmp, elf, { mode: 0o644 });
  renameSync(tmp, outPath);
} catch (e) {
  if (!(e instanceof NotPvh) && !(e instanceof RangeError)) throw e;
  process.stderr.write(`${e instanceof RangeError ? 'truncated or corrupt kernel' : e.message}\n`);
  process.exit(1);
}
