import { createHash } from 'node:crypto';

const keyTypes = [
  'ssh-rsa',
  'ssh-dss',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/**
 * An OpenSSH public key line (`type base64 [comment]`) as DigitalOcean takes it: the blob must decode
 * and name the same type it is written with. Undefined when it is not one.
 */
export function parsePublicKey(line: string): { type: string; blob: Buffer } | undefined {
  const [type, data] = line.trim().split(/\s+/);
  if (!type || !data || !keyTypes.includes(type) || !/^[A-Za-z0-9+/]+=*$/.test(data)) return undefined;
  const blob = Buffer.from(data, 'base64');
  if (blob.length < 4) return undefined;
  const nameLength = blob.readUInt32BE(0);
  if (4 + nameLength > blob.length || blob.subarray(4, 4 + nameLength).toString('latin1') !== type)
    return undefined;
  return { type, blob };
}

/** DigitalOcean's key fingerprint: the MD5 of the key blob, as colon-separated hex (`ssh-keygen -E md5`). */
export function md5Fingerprint(blob: Buffer): string {
  return createHash('md5')
    .update(blob)
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
}
