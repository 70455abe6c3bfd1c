import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sniffImageFormat } from './image-import.js';
import { md5Fingerprint, parsePublicKey } from './ssh-key.js';

describe('SSH keys as DigitalOcean takes them', () => {
  it.each(['ed25519', 'rsa', 'ecdsa'])('fingerprints a %s key as ssh-keygen -E md5 does', (type) => {
    const dir = mkdtempSync(join(tmpdir(), 'kola-do-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'kola@test', '-f', join(dir, 'k')]);
      const line = readFileSync(join(dir, 'k.pub'), 'utf8');
      const expected = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'k.pub')], {
        encoding: 'utf8',
      }).split(' ')[1]!;
      const parsed = parsePublicKey(line);
      expect(parsed).toBeDefined();
      expect(`MD5:${md5Fingerprint(parsed!.blob)}`).toBe(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what is not an OpenSSH public key line', () => {
    expect(parsePublicKey('')).toBeUndefined();
    expect(parsePublicKey('ssh-ed25519')).toBeUndefined();
    expect(parsePublicKey('ssh-ed25519 not-base64!')).toBeUndefined();
    // a blob that names another type than the line does
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8)]);
    expect(parsePublicKey(`ssh-ed25519 ${blob.toString('base64')}`)).toBeUndefined();
    expect(parsePublicKey(`ssh-rsa ${blob.toString('base64')} c`)?.type).toBe('ssh-rsa');
  });
});

describe('custom image formats', () => {
  it('knows the formats DigitalOcean imports by their first bytes', () => {
    const mbr = Buffer.alloc(512);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const gpt = Buffer.concat([mbr, Buffer.from('EFI PART')]);
    expect(sniffImageFormat(mbr)).toBe('raw (MBR)');
    expect(sniffImageFormat(gpt)).toBe('raw (GPT)');
    expect(sniffImageFormat(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(sniffImageFormat(Buffer.from('BZh91AY&SY'))).toBe('bzip2');
    expect(sniffImageFormat(Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]))).toBe('qcow2');
    expect(sniffImageFormat(Buffer.from('vhdxfile'))).toBe('vhdx');
    expect(sniffImageFormat(Buffer.from('KDMV'))).toBe('vmdk');
    expect(sniffImageFormat(Buffer.from('<html>Access Denied</html>'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.alloc(4096))).toBeUndefined();
  });
});
