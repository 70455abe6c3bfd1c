import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError, redact } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempHome, thrown } from '../test/support.js';
import { defaultDoctlConfigPath, resolveDigitalOceanToken } from './index.js';

let home: string;
const mantleFile = () => join(home, '.config', 'digitalocean.json');
const doctlFile = () => join(home, '.config', 'doctl', 'config.yaml');

beforeEach(() => {
  home = makeTempHome('.config');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

function writeMantle(profiles: unknown, mode = 0o600): void {
  writeFileSync(mantleFile(), JSON.stringify(profiles));
  chmodSync(mantleFile(), mode);
}
function writeDoctl(text: string): void {
  mkdirSync(join(home, '.config', 'doctl'), { recursive: true });
  writeFileSync(doctlFile(), text);
  chmodSync(doctlFile(), 0o600);
}
const resolve = (o: Parameters<typeof resolveDigitalOceanToken>[0] = {}) =>
  resolveDigitalOceanToken({ homeDir: home, env: {}, ...o });

describe('DigitalOcean token', () => {
  it('takes --do-token first, then the environment, then the files', () => {
    writeMantle({ default: { token: 'from-mantle' } });
    writeDoctl('access-token: from-doctl\n');
    expect(resolve({ token: 'from-flag', env: { DIGITALOCEAN_TOKEN: 'from-env' } })).toMatchObject({
      token: 'from-flag',
      source: 'flag',
    });
    expect(
      resolve({ env: { DIGITALOCEAN_TOKEN: 'from-env', DIGITALOCEAN_ACCESS_TOKEN: 'doctl-env' } }),
    ).toMatchObject({
      token: 'from-env',
      source: 'env',
      env: 'DIGITALOCEAN_TOKEN',
    });
    expect(resolve({ env: { DIGITALOCEAN_ACCESS_TOKEN: 'doctl-env' } })).toMatchObject({
      token: 'doctl-env',
      env: 'DIGITALOCEAN_ACCESS_TOKEN',
    });
    expect(resolve()).toMatchObject({ token: 'from-mantle', source: 'mantle-config', profile: 'default' });
    rmSync(mantleFile());
    expect(resolve()).toMatchObject({
      token: 'from-doctl',
      source: 'doctl-config',
      profile: 'default',
      path: doctlFile(),
    });
  });

  it('registers the token as a secret', () => {
    writeMantle({ default: { token: 'dop_v1_secret_token_1234' } });
    resolve();
    expect(redact('auth dop_v1_secret_token_1234')).not.toContain('dop_v1_secret_token_1234');
  });

  it('selects a mantle profile, and names the file and profile when it is not there', () => {
    writeMantle({ default: { token: 'a' }, ci: { token: 'b' } });
    expect(resolve({ profile: 'ci' }).token).toBe('b');
    const err = thrown(() => resolve({ profile: 'prod' }));
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toBe('~/.config/digitalocean.json: no profile "prod" (profiles: default, ci)');
  });

  it('names the field of a bad profile without quoting the value', () => {
    writeMantle({ default: { token: 42 } });
    const err = thrown(() => resolve());
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      '~/.config/digitalocean.json: profile "default": field "token": expected string, got number',
    );
  });

  it('a --do-config-file that does not exist is an error, not a fallback to doctl', () => {
    writeDoctl('access-token: from-doctl\n');
    const err = thrown(() => resolve({ configFile: '~/elsewhere.json' }));
    expect(err.message).toContain('no do config file at ~/elsewhere.json');
  });

  it('reads doctl contexts: --do-profile, $DIGITALOCEAN_CONTEXT, the file’s context', () => {
    writeDoctl(
      [
        'access-token: tok-default',
        'context: work',
        'auth-contexts:',
        '  work: tok-work',
        '  play: tok-play',
        'output: text',
        '',
      ].join('\n'),
    );
    expect(resolve()).toMatchObject({ token: 'tok-work', profile: 'work' });
    expect(resolve({ env: { DIGITALOCEAN_CONTEXT: 'play' } }).token).toBe('tok-play');
    expect(resolve({ profile: 'default' }).token).toBe('tok-default');
    const err = thrown(() => resolve({ profile: 'nope' }));
    expect(err.message).toBe(
      '~/.config/doctl/config.yaml: context "nope": field "auth-contexts.nope" missing',
    );
  });

  it('says where doctl’s YAML is broken or the wrong shape', () => {
    writeDoctl('access-token: [unclosed\n');
    expect(thrown(() => resolve()).message).toMatch(
      /^~\/\.config\/doctl\/config\.yaml: not valid YAML at line \d+ column \d+$/,
    );
    writeDoctl('auth-contexts:\n  work: 7\n');
    expect(thrown(() => resolve({ profile: 'work' })).message).toMatch(
      /^~\/\.config\/doctl\/config\.yaml: field "auth-contexts\.work": /,
    );
  });

  it('follows $XDG_CONFIG_HOME for doctl, as doctl does', () => {
    expect(defaultDoctlConfigPath({ XDG_CONFIG_HOME: '/x/cfg' }, home)).toBe('/x/cfg/doctl/config.yaml');
    expect(defaultDoctlConfigPath({}, home)).toBe(join(home, '.config', 'doctl', 'config.yaml'));
  });

  it('without any source, lists every way to give a token', () => {
    const err = thrown(() => resolve());
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toBe(
      'do: no API token: pass --do-token, set $DIGITALOCEAN_TOKEN, or write ~/.config/digitalocean.json ({"default": {"token": "…"}}) or doctl\'s ~/.config/doctl/config.yaml (doctl auth init)',
    );
  });

  it('warns about a token file others can read', () => {
    writeMantle({ default: { token: 'a' } }, 0o644);
    const warnings: string[] = [];
    resolve({ onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      '~/.config/digitalocean.json is readable by others (mode 0644); run chmod 600 ~/.config/digitalocean.json',
    ]);
  });
});
