import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError } from '@mantle/cluster';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeTempHome, thrown } from '../test/support.js';
import { readAwsCredentials, redact } from './index.js';

const posix = process.platform !== 'win32';

let home: string;
let defaultFile: string;

beforeEach(() => {
  home = makeTempHome('.aws');
  defaultFile = join(home, '.aws', 'credentials');
  // The SDK reads the real environment: point it at this home, and leave it nothing else to find.
  vi.stubEnv('HOME', home);
  vi.stubEnv('AWS_CONFIG_FILE', join(home, '.aws', 'config'));
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  for (const name of [
    'AWS_PROFILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  ])
    vi.stubEnv(name, undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

interface Keys {
  id: string;
  secret: string;
  token?: string;
}

/** An INI credentials file; the values are unique per test, as the secret registry is process-wide. */
function writeCredentials(path: string, profiles: Record<string, Keys>, mode = 0o600): void {
  const text = Object.entries(profiles)
    .map(
      ([name, k]) =>
        `[${name}]\naws_access_key_id = ${k.id}\naws_secret_access_key = ${k.secret}\n` +
        (k.token ? `aws_session_token = ${k.token}\n` : ''),
    )
    .join('\n');
  writeFileSync(path, text);
  chmodSync(path, mode);
}

function unique(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 14)}`;
}

function keys(): Keys {
  return { id: unique('AKIATEST'), secret: unique('secret/'), token: unique('token+') };
}

describe('readAwsCredentials: a profile of a credentials file', () => {
  it('yields the profile’s keys and registers its secrets', async () => {
    const ci = keys();
    const file = join(home, 'ci-credentials');
    writeCredentials(file, { default: keys(), ci });
    const aws = readAwsCredentials({ profile: 'ci', credentialsFile: file, env: {}, homeDir: home });
    expect(aws.source).toEqual({
      kind: 'profile',
      profile: 'ci',
      profileFrom: 'flag',
      credentialsFile: file,
      credentialsFileFrom: 'flag',
    });
    expect(aws.label).toBe('profile "ci" (--aws-profile) in ~/ci-credentials');
    expect(aws.warnings).toEqual([]);
    const line = `signing with ${ci.secret} and ${ci.token}`;
    expect(redact(line)).toBe(line); // nothing is registered before the SDK yields it

    const identity = await aws.provider();
    expect(identity).toMatchObject({
      accessKeyId: ci.id,
      secretAccessKey: ci.secret,
      sessionToken: ci.token,
    });
    expect(redact(line)).toBe('signing with [REDACTED] and [REDACTED]');
    // the access key id is not a secret: it stays visible, to tell which key was used
    expect(redact(`key ${ci.id}`)).toBe(`key ${ci.id}`);
  });

  it('reads profile "default" when only a file is named', async () => {
    const main = keys();
    const file = join(home, 'creds');
    writeCredentials(file, { default: main, other: keys() });
    const aws = readAwsCredentials({ credentialsFile: '~/creds', env: {}, homeDir: home });
    expect(aws.source).toMatchObject({ kind: 'profile', profile: 'default', profileFrom: 'default' });
    expect(await aws.provider()).toMatchObject({ accessKeyId: main.id, secretAccessKey: main.secret });
  });

  it('respects $AWS_PROFILE, and a flag over it', async () => {
    const staging = keys();
    const prod = keys();
    writeCredentials(defaultFile, { default: keys(), staging, prod });
    const fromEnv = readAwsCredentials({ env: { AWS_PROFILE: 'staging' }, homeDir: home });
    expect(fromEnv.source).toEqual({
      kind: 'profile',
      profile: 'staging',
      profileFrom: 'env',
      credentialsFile: defaultFile,
      credentialsFileFrom: 'default',
    });
    expect(fromEnv.label).toBe('profile "staging" ($AWS_PROFILE) in ~/.aws/credentials');
    expect(await fromEnv.provider()).toMatchObject({
      accessKeyId: staging.id,
      secretAccessKey: staging.secret,
    });
    expect(redact(staging.secret)).toBe('[REDACTED]');

    const fromFlag = readAwsCredentials({ profile: 'prod', env: { AWS_PROFILE: 'staging' }, homeDir: home });
    expect(await fromFlag.provider()).toMatchObject({ accessKeyId: prod.id });
  });

  it('reads the profile from $AWS_SHARED_CREDENTIALS_FILE when a profile is chosen', async () => {
    const ci = keys();
    const file = join(home, 'elsewhere');
    writeCredentials(file, { ci });
    const aws = readAwsCredentials({
      env: { AWS_PROFILE: 'ci', AWS_SHARED_CREDENTIALS_FILE: file },
      homeDir: home,
    });
    expect(aws.source).toMatchObject({ credentialsFile: file, credentialsFileFrom: 'env' });
    expect(await aws.provider()).toMatchObject({ accessKeyId: ci.id });
  });
});

describe('readAwsCredentials: a named file that cannot be used', () => {
  it('is a one-line ConfigError naming the file and the profile when it does not exist', () => {
    const e = thrown(() =>
      readAwsCredentials({ credentialsFile: '~/missing/credentials', profile: 'ci', env: {}, homeDir: home }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(2);
    expect(e.message).toBe(
      'aws: no credentials file ~/missing/credentials (--aws-credentials-file), so profile "ci" cannot be read',
    );

    const fromEnv = thrown(() =>
      readAwsCredentials({ env: { AWS_SHARED_CREDENTIALS_FILE: join(home, 'gone') }, homeDir: home }),
    );
    expect(fromEnv.message).toBe(
      'aws: no credentials file ~/gone ($AWS_SHARED_CREDENTIALS_FILE), so profile "default" cannot be read',
    );
  });

  it('is a CredentialsError when it cannot be read', () => {
    mkdirSync(join(home, 'a-directory'));
    const e = thrown(() => readAwsCredentials({ credentialsFile: '~/a-directory', env: {}, homeDir: home }));
    expect(e).toBeInstanceOf(CredentialsError);
    expect(e.message).toBe(
      'aws: cannot read credentials file ~/a-directory (--aws-credentials-file) for profile "default": is a directory',
    );
  });

  it('does not require ~/.aws/credentials when it is not named (the profile may be in ~/.aws/config)', () => {
    const aws = readAwsCredentials({ profile: 'sso', env: {}, homeDir: home });
    expect(aws.source).toMatchObject({ kind: 'profile', profile: 'sso' });
  });
});

describe.runIf(posix)('readAwsCredentials: the permission warning', () => {
  it('warns when the credentials file is readable by others', () => {
    const file = join(home, 'open-credentials');
    writeCredentials(file, { default: keys() }, 0o644);
    const onWarning = vi.fn();
    const aws = readAwsCredentials({ credentialsFile: file, env: {}, homeDir: home, onWarning });
    const warning = '~/open-credentials is readable by others (mode 0644); run chmod 600 ~/open-credentials';
    expect(aws.warnings).toEqual([warning]);
    expect(onWarning).toHaveBeenCalledExactlyOnceWith(warning);
  });

  it('checks ~/.aws/credentials when the default chain may read it', () => {
    writeCredentials(defaultFile, { default: keys() }, 0o640);
    expect(readAwsCredentials({ env: {}, homeDir: home }).warnings).toEqual([
      '~/.aws/credentials is readable by others (mode 0640); run chmod 600 ~/.aws/credentials',
    ]);
    chmodSync(defaultFile, 0o600);
    expect(readAwsCredentials({ env: {}, homeDir: home }).warnings).toEqual([]);
  });
});

describe("readAwsCredentials: the SDK's default chain", () => {
  it('is used when no profile or file is named: environment keys yield and are registered', async () => {
    const env = keys();
    // a default profile in ~/.aws/credentials too: the chain takes the environment's keys first
    writeCredentials(defaultFile, { default: keys() });
    vi.stubEnv('AWS_ACCESS_KEY_ID', env.id);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', env.secret);
    vi.stubEnv('AWS_SESSION_TOKEN', env.token);
    const aws = readAwsCredentials({ homeDir: home });
    expect(aws.source).toEqual({ kind: 'chain' });
    expect(aws.label).toBe("the SDK's default chain");
    expect(redact(env.secret)).toBe(env.secret);
    expect(await aws.provider()).toMatchObject({
      accessKeyId: env.id,
      secretAccessKey: env.secret,
      sessionToken: env.token,
    });
    expect(redact(`${env.secret} ${env.token}`)).toBe('[REDACTED] [REDACTED]');
  });

  it('reads the file $AWS_SHARED_CREDENTIALS_FILE names in its turn', async () => {
    const fromFile = keys();
    const file = join(home, 'shared');
    writeCredentials(file, { default: fromFile });
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', file);
    const aws = readAwsCredentials({ homeDir: home });
    expect(aws.source).toEqual({ kind: 'chain', credentialsFile: file });
    expect(aws.label).toBe("the SDK's default chain (credentials file ~/shared)");
    expect(await aws.provider()).toMatchObject({
      accessKeyId: fromFile.id,
      secretAccessKey: fromFile.secret,
    });
    expect(redact(fromFile.secret)).toBe('[REDACTED]');
  });
});
