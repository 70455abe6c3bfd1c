import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError, redact } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, thrown } from '../test/support.js';
import { resolvePacketCredentials } from './index.js';

let home: string;
const file = () => join(home, '.config', 'packet.json');

beforeEach(() => {
  home = makeTempHome('.config');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

function write(profiles: unknown, mode = 0o600): void {
  writeFileSync(file(), typeof profiles === 'string' ? profiles : JSON.stringify(profiles));
  chmodSync(file(), mode);
}
const resolve = (o: Parameters<typeof resolvePacketCredentials>[0] = {}) =>
  resolvePacketCredentials({ homeDir: home, env: {}, ...o });

describe('Packet credentials', () => {
  it('reads mantle’s profile file, the default profile unless told', () => {
    write({ default: { api_key: 'k1', project: 'p1' }, ci: { api_key: 'k2', project: 'p2' } });
    expect(resolve()).toMatchObject({
      apiKey: 'k1',
      project: 'p1',
      sources: { apiKey: 'file', project: 'file' },
      profile: 'default',
      path: file(),
    });
    expect(resolve({ profile: 'ci' })).toMatchObject({ apiKey: 'k2', project: 'p2', profile: 'ci' });
  });

  it('flags beat the environment, which beats the file; the file is read only when one is missing', () => {
    write({ default: { api_key: 'kf', project: 'pf' } });
    expect(
      resolve({ apiKey: 'kflag', env: { METAL_AUTH_TOKEN: 'kenv', METAL_PROJECT_ID: 'penv' } }),
    ).toMatchObject({ apiKey: 'kflag', project: 'penv', sources: { apiKey: 'flag', project: 'env' } });
    expect(resolve({ env: { METAL_AUTH_TOKEN: 'kenv' } })).toMatchObject({
      apiKey: 'kenv',
      project: 'pf',
      sources: { apiKey: 'env', project: 'file' },
    });
    // both given: a broken file is never opened
    write('{not json');
    expect(resolve({ apiKey: 'a', project: 'b' })).toMatchObject({ apiKey: 'a', project: 'b' });
  });

  it('registers the API key as a secret', () => {
    write({ default: { api_key: 'metal-secret-key-98765', project: 'p' } });
    resolve();
    expect(redact('X-Auth-Token: metal-secret-key-98765')).not.toContain('metal-secret-key-98765');
  });

  it('names the file, line and column of broken JSON, without quoting it', () => {
    write('{"default": {"api_key": s3cret}}');
    const err = thrown(() => resolve());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^~\/\.config\/packet\.json: not valid JSON: .* at line 1 column \d+$/);
    expect(err.message).not.toContain('s3cret');
  });

  it('names the profile and the field of a bad value', () => {
    write({ default: { api_key: 7, project: 'p' } });
    expect(thrown(() => resolve()).message).toBe(
      '~/.config/packet.json: profile "default": field "api_key": expected string, got number',
    );
    write({ default: { api_key: 'k' } });
    expect(thrown(() => resolve()).message).toBe(
      'packet: no project id: pass --packet-project, set $METAL_PROJECT_ID or add "project" to profile "default" in ~/.config/packet.json',
    );
  });

  it('an unknown profile and an empty file are errors naming the file', () => {
    write({ default: { api_key: 'k', project: 'p' } });
    expect(thrown(() => resolve({ profile: 'prod' })).message).toBe(
      '~/.config/packet.json: no profile "prod" (profiles: default)',
    );
    write({});
    expect(thrown(() => resolve()).message).toBe('~/.config/packet.json: no profiles in file');
  });

  it('without a default file lists every way; a named file must exist', () => {
    const err = thrown(() => resolve());
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toBe(
      'packet: no API key: pass --packet-api-key, set $METAL_AUTH_TOKEN or add "api_key" to profile "default" in ~/.config/packet.json; no project id: pass --packet-project, set $METAL_PROJECT_ID or add "project" to profile "default" in ~/.config/packet.json',
    );
    const named = thrown(() => resolve({ configFile: '~/elsewhere.json', project: 'p' }));
    expect(named).toBeInstanceOf(CredentialsError);
    expect(named.message).toContain('no packet config file at ~/elsewhere.json');
  });

  it('warns about a file others can read', () => {
    write({ default: { api_key: 'k', project: 'p' } }, 0o644);
    expect(resolve().warnings).toEqual([
      '~/.config/packet.json is readable by others (mode 0644); run chmod 600 ~/.config/packet.json',
    ]);
  });
});
