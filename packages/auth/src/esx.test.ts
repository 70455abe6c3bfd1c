import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, thrown } from '../test/support.js';
import { parseEsxServer, resolveEsxCredentials } from './index.js';

let home: string;
beforeEach(() => {
  home = makeTempHome('.config');
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

function writeConfig(content: unknown): string {
  const path = join(home, '.config', 'esx.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(path, 0o600);
  return path;
}

describe('resolveEsxCredentials', () => {
  it('reads mantle’s esx.json profile, default profile first', () => {
    writeConfig({
      default: { server: 'vc.example:8443', user: 'a', password: 'p' },
      lab: { server: 'https://lab.example/sdk', user: 'b', password: 'q' },
    });
    const d = resolveEsxCredentials({ env: {}, homeDir: home });
    expect(d).toMatchObject({
      url: 'https://vc.example:8443/sdk',
      user: 'a',
      password: 'p',
      insecure: false,
    });
    expect(d.sources.server).toBe('~/.config/esx.json profile default');
    const lab = resolveEsxCredentials({ env: {}, homeDir: home, profile: 'lab' });
    expect(lab).toMatchObject({ url: 'https://lab.example/sdk', user: 'b', password: 'q' });
  });

  it('takes govc’s variables over the file, and flags over both; GOVC_INSECURE turns verification off', () => {
    writeConfig({ default: { server: 'file.example', user: 'fileuser', password: 'filepw' } });
    const env = { GOVC_URL: 'https://envuser:envpw@env.example:9443/sdk', GOVC_INSECURE: '1' };
    const fromEnv = resolveEsxCredentials({ env, homeDir: home });
    expect(fromEnv).toMatchObject({
      url: 'https://env.example:9443/sdk',
      user: 'envuser',
      password: 'envpw',
      insecure: true,
    });
    const split = resolveEsxCredentials({
      env: { GOVC_URL: 'env.example', GOVC_USERNAME: 'u2', GOVC_PASSWORD: 'p2' },
      homeDir: home,
    });
    expect(split).toMatchObject({ url: 'https://env.example/sdk', user: 'u2', password: 'p2' });
    const flags = resolveEsxCredentials({ env, homeDir: home, server: 'flag.example', user: 'fu' });
    expect(flags).toMatchObject({ url: 'https://flag.example/sdk', user: 'fu', password: 'envpw' });
    expect(flags.sources).toEqual({ server: 'flag', user: 'flag', password: 'env GOVC_URL' });
  });

  it('fills only missing fields from the file (mantle reads it only then)', () => {
    writeConfig({ default: { server: 'file.example', user: 'fileuser', password: 'filepw' } });
    const got = resolveEsxCredentials({ env: { GOVC_URL: 'env.example' }, homeDir: home });
    expect(got).toMatchObject({ url: 'https://env.example/sdk', user: 'fileuser', password: 'filepw' });
  });

  it('says in one line what is missing and where it can come from', () => {
    const err = thrown(() => resolveEsxCredentials({ env: {}, homeDir: home, server: 'vc' }));
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toBe(
      'esx: no user, password: pass --esx-server/--esx-user/--esx-password, set $GOVC_URL/$GOVC_USERNAME/$GOVC_PASSWORD, or write ~/.config/esx.json ({"default": {"server": "…", "user": "…", "password": "…"}})',
    );
    expect((err as CredentialsError).exitCode).toBe(2);
  });

  it('names the file and field of a bad file, and an unknown profile', () => {
    writeConfig('{"default": {"server": 1}}');
    const bad = thrown(() => resolveEsxCredentials({ env: {}, homeDir: home }));
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad.message).toBe(
      '~/.config/esx.json: profile "default": field "server": expected string, got number',
    );
    writeConfig('{"default": ');
    expect(thrown(() => resolveEsxCredentials({ env: {}, homeDir: home })).message).toMatch(
      /^~\/\.config\/esx\.json: not valid JSON/,
    );
    writeConfig({ default: { server: 'a', user: 'u', password: 'p' } });
    expect(thrown(() => resolveEsxCredentials({ env: {}, homeDir: home, profile: 'x' })).message).toBe(
      '~/.config/esx.json: no profile "x" (profiles: default)',
    );
    const missingNamed = thrown(() =>
      resolveEsxCredentials({ env: {}, homeDir: home, configFile: join(home, 'nope.json') }),
    );
    expect(missingNamed.message).toMatch(/^no esx config file at ~\/nope\.json/);
  });

  it('refuses a server that is not https', () => {
    expect(thrown(() => parseEsxServer('http://vc/sdk', '--esx-server')).message).toBe(
      '--esx-server: vSphere is reached over https, not http:',
    );
    expect(parseEsxServer('u%40x:p%3A@vc:1', 'x')).toEqual({
      url: 'https://vc:1/sdk',
      user: 'u@x',
      password: 'p:',
    });
  });
});
