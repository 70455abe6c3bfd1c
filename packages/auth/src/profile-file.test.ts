import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeTempHome, thrown } from '../test/support.js';
import {
  checkFilePrivate,
  defaultConfigPath,
  describeJsonError,
  expandHome,
  jsonErrorOffset,
  MissingConfigFileError,
  readProfileFile,
  readProfiles,
  tildePath,
} from './index.js';

const doSchema = z.object({ token: z.string() });
const posix = process.platform !== 'win32';

let home: string;
let configPath: string;

beforeEach(() => {
  home = makeTempHome('.config');
  configPath = join(home, '.config', 'digitalocean.json');
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

function write(text: string, mode = 0o600): void {
  writeFileSync(configPath, text);
  chmodSync(configPath, mode);
}

const read = (profile?: string) =>
  readProfileFile({
    path: '~/.config/digitalocean.json',
    platform: 'do',
    schema: doSchema,
    homeDir: home,
    ...(profile === undefined ? {} : { profile }),
  });

describe('paths', () => {
  it('expands ~ and ~/ against the home directory only', () => {
    expect(expandHome('~', '/h/me')).toBe('/h/me');
    expect(expandHome('~/.config/x.json', '/h/me')).toBe('/h/me/.config/x.json');
    expect(expandHome('~other/x', '/h/me')).toBe('~other/x');
    expect(expandHome('/abs/~/x', '/h/me')).toBe('/abs/~/x');
    expect(expandHome('rel/x', '/h/me')).toBe('rel/x');
  });

  it('shows paths under home with ~', () => {
    expect(tildePath('/h/me/.config/x.json', '/h/me')).toBe('~/.config/x.json');
    expect(tildePath('/h/meow/x.json', '/h/me')).toBe('/h/meow/x.json');
    expect(tildePath('/elsewhere/x.json', '/h/me')).toBe('/elsewhere/x.json');
  });

  it('defaults to $HOME/.config/<name>', () => {
    expect(defaultConfigPath('digitalocean.json', '/h/me')).toBe('/h/me/.config/digitalocean.json');
    const saved = process.env.HOME;
    process.env.HOME = '/from/env';
    try {
      expect(defaultConfigPath('esx.json')).toBe('/from/env/.config/esx.json');
    } finally {
      if (saved === undefined) delete process.env.HOME;
      else process.env.HOME = saved;
    }
  });
});

describe('readProfileFile', () => {
  it('reads the default profile and returns path and profile', () => {
    write(JSON.stringify({ default: { token: 'tok-default' }, other: { token: 'tok-other' } }));
    const r = read();
    expect(r).toEqual({
      config: { token: 'tok-default' },
      path: configPath,
      profile: 'default',
      warnings: [],
    });
    expect(read('other').config.token).toBe('tok-other');
  });

  it('tolerates a UTF-8 byte order mark', () => {
    write(`\ufeff${JSON.stringify({ default: { token: 'abc' } })}`);
    expect(read().config.token).toBe('abc');
  });

  it('missing file: CredentialsError naming platform and path, with a hint', () => {
    const e = thrown(() => read());
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e).toBeInstanceOf(MissingConfigFileError);
    expect(e.message).toBe(
      'no do config file at ~/.config/digitalocean.json (create it, or pass credentials by flag or environment)',
    );
    expect((e as CredentialsError).hint).toBeTruthy();
    expect((e as CredentialsError).exitCode).toBe(2);
  });

  it('a path outside home is shown in full', () => {
    const e = thrown(() =>
      readProfileFile({
        path: join(home, 'nope.json'),
        platform: 'esx',
        schema: doSchema,
        homeDir: '/nonexistent-home',
      }),
    );
    expect(e.message).toContain(`no esx config file at ${join(home, 'nope.json')}`);
  });

  it('not JSON: names the file, gives line and column, never quotes the content', () => {
    write('{\n  "default": { "token": supersecretvalue }\n}');
    const e = thrown(() => read());
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^~\/\.config\/digitalocean\.json: not valid JSON: /);
    expect(e.message).toContain('line 2 column 25');
    expect(e.message).not.toContain('supersecret');
    expect(e.message).not.toContain('\n');
  });

  it('not JSON with a positioned parser message', () => {
    write('{"default": {"token": "x"},}');
    const e = thrown(() => read());
    expect(e.message).toMatch(/: not valid JSON: .* at line 1 column 28$/);
  });

  it('empty file is not JSON', () => {
    write('');
    expect(thrown(() => read()).message).toContain(
      'digitalocean.json: not valid JSON: Unexpected end of JSON input',
    );
  });

  it('unreadable file: CredentialsError', () => {
    mkdirSync(configPath);
    const e = thrown(() => read());
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e.message).toBe('~/.config/digitalocean.json: cannot read: is a directory');
  });

  it('not an object, or an empty map: no profiles in file', () => {
    for (const text of ['[]', '"token"', 'null', '42']) {
      write(text);
      const e = thrown(() => read());
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toMatch(/^~\/\.config\/digitalocean\.json: no profiles in file/);
    }
    write('{}');
    const e = thrown(() => read());
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e.message).toBe('~/.config/digitalocean.json: no profiles in file');
  });

  it('missing profile lists the profiles there are', () => {
    write(JSON.stringify({ a: { token: 'x' }, b: { token: 'y' } }));
    const e = thrown(() => read('prod'));
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e.message).toBe('~/.config/digitalocean.json: no profile "prod" (profiles: a, b)');
    // Object.prototype names are not profiles
    expect(thrown(() => read('constructor')).message).toContain('no profile "constructor"');
  });

  it('bad field: names file, profile and field', () => {
    write(JSON.stringify({ default: { token: 42 } }));
    const e = thrown(() => read());
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      '~/.config/digitalocean.json: profile "default": field "token": expected string, got number',
    );
  });

  it('missing field and non-object profile', () => {
    write(JSON.stringify({ default: {}, str: 'abc' }));
    expect(thrown(() => read()).message).toBe(
      '~/.config/digitalocean.json: profile "default": field "token": missing (expected string)',
    );
    expect(thrown(() => read('str')).message).toBe(
      '~/.config/digitalocean.json: profile "str": expected object, got string',
    );
  });

  it('nested paths and other zod issues, without echoing values', () => {
    const schema = z
      .object({ server: z.string().min(1), ports: z.array(z.number()), mode: z.enum(['a', 'b']) })
      .strict();
    write(JSON.stringify({ default: { server: '', ports: [1, 'hunter2secret'], mode: 'zz', extra: 1 } }));
    const e = thrown(() => readProfileFile({ path: configPath, platform: 'esx', schema, homeDir: home }));
    expect(e.message).toContain('profile "default": field "server": too small');
    expect(e.message).toContain('field "ports[1]": expected number, got string');
    expect(e.message).toContain('(and 1 more)');
    expect(e.message).not.toContain('hunter2secret');
  });

  it('only the selected profile is validated', () => {
    write(JSON.stringify({ default: { token: 'ok' }, broken: { token: 1 } }));
    expect(read().config.token).toBe('ok');
  });
});

describe('readProfiles', () => {
  it('returns every profile, validated, in file order', () => {
    write(JSON.stringify({ b: { token: '2' }, a: { token: '1' } }));
    const m = readProfiles({ path: configPath, platform: 'do', schema: doSchema, homeDir: home });
    expect([...m.entries()]).toEqual([
      ['b', { token: '2' }],
      ['a', { token: '1' }],
    ]);
  });

  it('fails on any invalid profile', () => {
    write(JSON.stringify({ a: { token: '1' }, b: { token: false } }));
    const e = thrown(() =>
      readProfiles({ path: configPath, platform: 'do', schema: doSchema, homeDir: home }),
    );
    expect(e.message).toBe(
      '~/.config/digitalocean.json: profile "b": field "token": expected string, got boolean',
    );
  });
});

describe.runIf(posix)('permission warning', () => {
  it('warns (does not fail) when group or others can read the file', () => {
    write(JSON.stringify({ default: { token: 'abc' } }), 0o644);
    const seen: string[] = [];
    const r = readProfileFile({
      path: configPath,
      platform: 'do',
      schema: doSchema,
      homeDir: home,
      onWarning: (w) => seen.push(w),
    });
    expect(r.config.token).toBe('abc');
    expect(r.warnings).toEqual([
      '~/.config/digitalocean.json is readable by others (mode 0644); run chmod 600 ~/.config/digitalocean.json',
    ]);
    expect(seen).toEqual(r.warnings);
  });

  it('is quiet for 0600 and 0400', () => {
    write(JSON.stringify({ default: { token: 'abc' } }), 0o600);
    expect(read().warnings).toEqual([]);
    chmodSync(configPath, 0o400);
    expect(read().warnings).toEqual([]);
  });

  it('checkFilePrivate', () => {
    write('{}', 0o640);
    expect(checkFilePrivate(configPath)).toBe(
      `${configPath} is readable by others (mode 0640); run chmod 600 ${configPath}`,
    );
    chmodSync(configPath, 0o600);
    expect(checkFilePrivate(configPath)).toBeUndefined();
    expect(checkFilePrivate(join(home, 'missing'))).toBeUndefined();
  });

  it('quotes paths that need it in the chmod command', () => {
    const odd = join(home, "it's here.json");
    writeFileSync(odd, '{}');
    chmodSync(odd, 0o604);
    expect(checkFilePrivate(odd, "~/it's here.json")).toBe(
      `~/it's here.json is readable by others (mode 0604); run chmod 600 ~/'it'\\''s here.json'`,
    );
  });
});

describe('JSON error positions', () => {
  it('agrees with JSON.parse on valid and invalid input', () => {
    const valid = ['{}', '[]', '{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"]}', ' 0 ', '"s"'];
    for (const t of valid) expect(jsonErrorOffset(t), t).toBeUndefined();
    const invalid: [string, number][] = [
      ['{"a": tru}', 9],
      ['{"a" 1}', 5],
      ['[1,,]', 3],
      ['{"a":1} x', 8],
      ['', 0],
      ['{"a":"\u0001"}', 6],
      ['01', 1],
      ['{"a":"\\x"}', 7],
    ];
    for (const [t, at] of invalid) {
      expect(() => JSON.parse(t), t).toThrow();
      expect(jsonErrorOffset(t), t).toBe(at);
    }
  });

  it('strips quoted source from parser messages', () => {
    const text = '{"token": hunter2hunter2}';
    let err: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e;
    }
    const msg = describeJsonError(err, text);
    expect(msg).not.toContain('hunter2');
    expect(msg).toContain('line 1 column 11');
  });
});
