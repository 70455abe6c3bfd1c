import { describe, expect, it } from 'vitest';
import { alignedDiskSize, fixedVhdFooter, footerChecksum, mib, parseVhdFooter, vhdProblem } from './vhd.js';

describe('fixed VHD footers', () => {
  it('round sizes up to a whole MiB', () => {
    expect(alignedDiskSize(1)).toBe(mib);
    expect(alignedDiskSize(mib)).toBe(mib);
    expect(alignedDiskSize(mib + 512)).toBe(2 * mib);
  });

  it('writes a footer that parses back, with a checksum over every other byte', () => {
    const footer = fixedVhdFooter(30 * 1024 * mib);
    expect(parseVhdFooter(footer)).toEqual({ diskType: 2, currentSize: 30 * 1024 * mib, checksumOk: true });
    expect(footer.readUInt32BE(64)).toBe(footerChecksum(footer));
    // 30 GiB: the specification's CHS gives 16 heads, 63 sectors
    expect([footer.readUInt8(58), footer.readUInt8(59)]).toEqual([16, 63]);
    expect(vhdProblem(30 * 1024 * mib + 512, footer)).toBeUndefined();
  });

  it('names what is wrong with a bad one', () => {
    const footer = fixedVhdFooter(4 * mib);
    expect(vhdProblem(4 * mib + 512, Buffer.alloc(512))).toMatch(/no VHD footer/);
    expect(vhdProblem(8 * mib + 512, footer)).toMatch(
      /footer says 4194304 bytes of data, the file has 8388608/,
    );
    const corrupt = Buffer.from(footer);
    corrupt[100] = 1;
    expect(vhdProblem(4 * mib + 512, corrupt)).toBe('the VHD footer checksum is wrong');
    const dynamic = Buffer.from(footer);
    dynamic.writeUInt32BE(3, 60);
    dynamic.writeUInt32BE(footerChecksum(dynamic), 64);
    expect(vhdProblem(4 * mib + 512, dynamic)).toMatch(/disk type 3 is not a fixed VHD/);
    const odd = fixedVhdFooter(4 * mib + 512);
    expect(vhdProblem(4 * mib + 1024, odd)).toMatch(/not a whole number of MiB/);
  });
});
