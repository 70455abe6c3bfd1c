import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError, createLogger, memorySink } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { makeTempHome, thrown } from '../test/support.js';
import {
  type CredentialsFile,
  profileFileSource,
  redact,
  redactValue,
  registerSecret,
  resolveCredentials,
  resolveSetting,
} from './index.js';

let home: string;
let configPath: string;

beforeEach(() => {
  home = makeTempHome('.config');
  configPath = join(home, '.config', 'digitalocean.json');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** A unique secret per test, so redaction registered by one test cannot make another pass. */
let n = 0;
const secret = (what: string) => `${what}-${process.pid}-${++n}-s3cr3t`;

describe('resolveSetting', () => {
  const env = { REGION: 'from-env', EMPTY: '' };

  it('flag > env > file > default', () => {
    const all = { name: 'region', env: 'REGION', file: 'from-file', default: 'from-default' };
    expect(resolveSetting({ ...all, flag: 'from-flag' }, env)).toEqual({
      value: 'from-flag',
      source: 'flag',
    });
    expect(resolveSetting(all, env)).toEqual({ value: 'from-env', source: 'env' });
    expect(resolveSetting(all, {})).toEqual({ value: 'from-file', source: 'file' });
    expect(resolveSetting({ ...all, file: undefined }, {})).toEqual({
      value: 'from-default',
      source: 'default',
    });
    expect(resolveSetting({ name: 'region', env: 'REGION' }, {})).toEqual({
      value: undefined,
      source: 'unset',
    });
  });

  it('empty strings count as not given', () => {
    expect(resolveSetting({ name: 'r', flag: '', env: 'EMPTY', file: '', default: 'd' }, env)).toEqual({
      value: 'd',
      source: 'default',
    });
  });

  it('reads process.env when no env is injected', () => {
    const name = `MANTLE_AUTH_TEST_${process.pid}`;
    process.env[name] = 'live';
    try {
      expect(resolveSetting({ name: 'x', env: name, default: 'd' })).toEqual({
        value: 'live',
        source: 'env',
      });
    } finally {
      delete process.env[name];
    }
  });

  it('parses non-string settings from the environment', () => {
    const parse = (raw: string) => {
      const v = Number(raw);
      if (!Number.isInteger(v)) throw new Error(`not an integer: ${raw}`);
      return v;
    };
    expect(resolveSetting({ name: 'port', env: 'PORT', default: 22, parse }, { PORT: '2222' })).toEqual({
      value: 2222,
      source: 'env',
    });
    expect(resolveSetting({ name: 'port', flag: 0, default: 22 })).toEqual({ value: 0, source: 'flag' });
    const e = thrown(() => resolveSetting({ name: 'port', env: 'PORT', parse }, { PORT: 'abc' }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe('$PORT: invalid port: not an integer: abc');
  });
});

const doSchema = z.object({ token: z.string().optional() });

function doCredentials(opts: {
  token?: string;
  env?: Record<string, string>;
  profile?: string;
  file?: CredentialsFile;
}) {
  return resolveCredentials({
    platform: 'do',
    fields: {
      token: {
        flag: opts.token,
        flagName: '--do-token',
        env: 'DIGITALOCEAN_TOKEN',
        fileField: 'token',
        secret: true,
        required: true,
        description: 'API token',
      },
    },
    file:
      opts.file ??
      profileFileSource({
        path: '~/.config/digitalocean.json',
        platform: 'do',
        schema: doSchema,
        homeDir: home,
        ...(opts.profile === undefined ? {} : { profile: opts.profile }),
      }),
    env: opts.env ?? {},
  });
}

function writeConfig(data: unknown, mode = 0o600): void {
  writeFileSync(configPath, JSON.stringify(data));
  chmodSync(configPath, mode);
}

describe('resolveCredentials', () => {
  it('takes the flag over env and file', () => {
    const flag = secret('flag');
    writeConfig({ default: { token: secret('file') } });
    const r = doCredentials({ token: flag, env: { DIGITALOCEAN_TOKEN: secret('env') } });
    expect(r.values.token).toBe(flag);
    expect(r.sources.token).toBe('flag');
    expect(r.fileRead).toBe(false);
  });

  it('takes env over the file', () => {
    const env = secret('env');
    writeConfig({ default: { token: secret('file') } });
    const r = doCredentials({ env: { DIGITALOCEAN_TOKEN: env } });
    expect(r.values.token).toBe(env);
    expect(r.sources.token).toBe('env');
  });

  it('reads the selected profile from the file when flag and env are absent', () => {
    const other = secret('other');
    writeConfig({ default: { token: secret('default') }, other: { token: other } });
    const r = doCredentials({ profile: 'other' });
    expect(r).toMatchObject({
      values: { token: other },
      sources: { token: 'file' },
      fileRead: true,
      path: configPath,
      profile: 'other',
      warnings: [],
    });
  });

  it('passes on the permission warning', () => {
    writeConfig({ default: { token: secret('file') } }, 0o644);
    const r = doCredentials({});
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('is readable by others (mode 0644); run chmod 600');
  });

  it('does not touch the file when flag and env give every required field', () => {
    const read = vi.fn(() => ({ config: { token: 'never' } }));
    const r = doCredentials({
      env: { DIGITALOCEAN_TOKEN: secret('env') },
      file: { label: 'the file', read },
    });
    expect(r.fileRead).toBe(false);
    expect(read).not.toHaveBeenCalled();
    // With the real file source: a directory where the file should be makes any read fail.
    mkdirSync(configPath);
    expect(doCredentials({ token: secret('flag') }).sources.token).toBe('flag');
    expect(doCredentials({ env: { DIGITALOCEAN_TOKEN: secret('env') } }).sources.token).toBe('env');
    expect(thrown(() => doCredentials({})).message).toContain('cannot read: is a directory');
  });

  it('does read the file for optional fields only when a required one is missing', () => {
    const file = vi.fn(() => ({ token: 'tok-from-file', region: 'nyc3' }));
    const fields = {
      token: { flag: 'tok-from-flag', fileField: 'token', required: true },
      region: { env: 'DO_REGION', fileField: 'region', default: 'sfo2' },
    } as const;
    const lazy = resolveCredentials({ platform: 'do', fields, file, env: {} });
    expect(file).not.toHaveBeenCalled();
    expect(lazy.values).toEqual({ token: 'tok-from-flag', region: 'sfo2' });
    expect(lazy.sources).toEqual({ token: 'flag', region: 'default' });

    const eager = resolveCredentials({
      platform: 'do',
      fields: { ...fields, token: { ...fields.token, flag: undefined } },
      file,
      env: { DO_REGION: 'ams3' },
    });
    expect(file).toHaveBeenCalledTimes(1);
    expect(eager.values).toEqual({ token: 'tok-from-file', region: 'ams3' });
    expect(eager.sources).toEqual({ token: 'file', region: 'env' });
  });

  it('names every way to give a missing field', () => {
    writeConfig({ default: {} });
    const e = thrown(() => doCredentials({}));
    expect(e).toBeInstanceOf(CredentialsError);
    expect((e as CredentialsError).exitCode).toBe(2);
    expect(e.message).toBe(
      'do: no API token: pass --do-token, set $DIGITALOCEAN_TOKEN or add "token" to profile "default" in ~/.config/digitalocean.json',
    );
  });

  it('a missing file gives the same message, with a hint', () => {
    const e = thrown(() => doCredentials({ profile: 'ci' }));
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e.message).toBe(
      'do: no API token: pass --do-token, set $DIGITALOCEAN_TOKEN or add "token" to profile "ci" in ~/.config/digitalocean.json',
    );
    expect((e as CredentialsError).hint).toBe('~/.config/digitalocean.json does not exist');
  });

  it('other file problems pass through unchanged', () => {
    writeConfig({ prod: { token: 'x' } });
    expect(thrown(() => doCredentials({})).message).toBe(
      '~/.config/digitalocean.json: no profile "default" (profiles: prod)',
    );
    writeConfig({ default: { token: 7 } });
    expect(thrown(() => doCredentials({})).message).toContain('field "token": expected string, got number');
  });

  it('lists each missing field, and only the ways that exist', () => {
    const e = thrown(() =>
      resolveCredentials({
        platform: 'esx',
        fields: {
          server: { flagName: '--esx-server', fileField: 'server', required: true },
          user: { fileField: 'user', required: true },
          password: { fileField: 'password', required: true, secret: true },
          note: {},
        },
        file: () => ({ user: 'root' }),
        env: {},
      }),
    );
    expect(e.message).toBe(
      'esx: no server: pass --esx-server or add "server" to the config file; no password: add "password" to the config file',
    );
    const bare = thrown(() =>
      resolveCredentials({ platform: 'x', fields: { key: { required: true } }, env: {} }),
    );
    expect(bare.message).toBe('x: no key');
  });

  it('rejects a file value that is not a string', () => {
    const e = thrown(() =>
      resolveCredentials({
        platform: 'do',
        fields: { token: { fileField: 'token', required: true } },
        file: () => ({ token: { nested: true } }),
        env: {},
      }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe('the config file: field "token": expected string, got object');
  });

  it('registers secrets so redact() hides them wherever they came from', () => {
    const fromFlag = secret('flag');
    const fromEnv = secret('env');
    const fromFile = secret('file');
    expect(redact(`x ${fromFlag}`)).toBe(`x ${fromFlag}`); // not yet registered
    doCredentials({ token: fromFlag });
    doCredentials({ env: { DIGITALOCEAN_TOKEN: fromEnv } });
    writeConfig({ default: { token: fromFile } });
    doCredentials({});
    for (const s of [fromFlag, fromEnv, fromFile]) {
      expect(redact(`x ${s}`)).toBe('x [REDACTED]');
      expect(redactValue({ msg: `using ${s}` })).toEqual({ msg: 'using [REDACTED]' });
    }
    const sink = memorySink();
    createLogger([sink]).info(`connecting with ${fromFile}`);
    expect(sink.text()).not.toContain(fromFile);
  });

  it('does not register values of non-secret fields', () => {
    const region = `region-${process.pid}-${++n}-plain`;
    resolveCredentials({ platform: 'do', fields: { region: { flag: region } }, env: {} });
    expect(redact(`x ${region}`)).toBe(`x ${region}`);
  });

  it('re-exports the cluster redaction, so both see the same registry', async () => {
    const cluster = await import('@mantle/cluster');
    expect(registerSecret).toBe(cluster.registerSecret);
    expect(redact).toBe(cluster.redact);
  });

  it('never prompts: a missing field throws synchronously without touching stdin', () => {
    const on = vi.spyOn(process.stdin, 'on');
    const once = vi.spyOn(process.stdin, 'once');
    const readStdin = vi.spyOn(process.stdin, 'read');
    const write = vi.spyOn(process.stdout, 'write');
    const e = thrown(() => doCredentials({}));
    expect(e).toBeInstanceOf(CredentialsError);
    expect(on).not.toHaveBeenCalled();
    expect(once).not.toHaveBeenCalled();
    expect(readStdin).not.toHaveBeenCalled();
    expect(write).not.toHaveBeenCalled();
    // and success is synchronous too
    const r = doCredentials({ token: secret('flag') });
    expect(r).not.toBeInstanceOf(Promise);
  });
});
