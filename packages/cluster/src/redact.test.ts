import { describe, expect, it } from 'vitest';
import { redact, redactValue, registerSecret } from './redact.js';

describe('redact', () => {
  it('hides registered secrets wherever they appear', () => {
    registerSecret('s3cr3t-value-123');
    expect(redact('token is s3cr3t-value-123.')).toBe('token is [REDACTED].');
  });

  it('hides the token of an Authorization header, not just the scheme', () => {
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [REDACTED]');
    expect(redact('curl -H "Bearer xyz987"')).not.toContain('xyz987');
  });

  it('hides key=value secrets and private keys', () => {
    expect(redact('password=hunter22 user=core')).toBe('password=[REDACTED] user=core');
    expect(redact('{"api_key": "k-123456"}')).not.toContain('k-123456');
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----';
    expect(redact(`key: ${pem}`)).not.toContain('AAAA');
  });

  it('redacts secret-named fields of objects', () => {
    expect(
      redactValue({ region: 'us-west-2', secretKey: 'abcdefgh', nested: { token: 'tttttttt' } }),
    ).toEqual({
      region: 'us-west-2',
      secretKey: '[REDACTED]',
      nested: { token: '[REDACTED]' },
    });
  });
});
