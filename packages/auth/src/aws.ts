import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError, registerSecret } from '@mantle/cluster';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { type EnvRecord, resolveSetting } from './credentials.js';
import {
  checkFilePrivate,
  DEFAULT_PROFILE,
  describeIoError,
  expandHome,
  homeDirectory,
  tildePath,
} from './profile-file.js';

/**
 * The AWS reader. AWS keeps its own credential files (INI, `~/.aws/credentials` and `~/.aws/config`)
 * and its SDK has a standard chain that reads them, so this reader does not parse them: it decides
 * which source the SDK is to use, checks a named file before any request is made, and registers every
 * secret the SDK's provider yields so that no log or report prints it. The SDK is imported only when
 * the first credentials are asked for, so loading @mantle/auth never loads it.
 */

export interface AwsAuthOptions {
  /** `--aws-profile`: a profile of the shared config/credentials files. */
  profile?: string | undefined;
  /** `--aws-credentials-file`: the shared credentials file to read the profile from; `~` is expanded. */
  credentialsFile?: string | undefined;
  /**
   * The environment that picks the source (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`); default
   * `process.env`. The SDK's default chain itself always reads `process.env`.
   */
  env?: EnvRecord;
  /** Home directory for `~` and the default `~/.aws/credentials` (tests); default `$HOME`. */
  homeDir?: string;
  /** Also called with each warning (e.g. to log it); the warnings are returned too. */
  onWarning?: (message: string) => void;
}

export type AwsSettingOrigin = 'flag' | 'env' | 'default';

/** Where the credentials come from. */
export type AwsCredentialSource =
  | {
      /** One profile of the shared files, read by the SDK's `fromIni`. */
      kind: 'profile';
      profile: string;
      profileFrom: AwsSettingOrigin;
      /** The credentials file (after `~` expansion); the SDK also reads the config file for the profile. */
      credentialsFile: string;
      credentialsFileFrom: AwsSettingOrigin;
    }
  | {
      /** The SDK's standard chain: environment keys, SSO, web identity, the shared files, process, IMDS. */
      kind: 'chain';
      /** The credentials file `$AWS_SHARED_CREDENTIALS_FILE` names, which the chain reads in its turn. */
      credentialsFile?: string;
    };

export interface AwsCredentials {
  source: AwsCredentialSource;
  /** For logs: `profile "ci" ($AWS_PROFILE) in ~/.aws/credentials`, `the SDK's default chain`. */
  label: string;
  /** Pass as the SDK clients' `credentials`. Each identity it yields has its secrets registered. */
  provider: AwsCredentialIdentityProvider;
  /** Non-fatal problems (a credentials file that others can read) for the caller to show. */
  warnings: string[];
}

const profileFlag = '--aws-profile';
const credentialsFileFlag = '--aws-credentials-file';
const profileEnv = 'AWS_PROFILE';
const credentialsFileEnv = 'AWS_SHARED_CREDENTIALS_FILE';

/**
 * Picks the AWS credential source. A profile (`--aws-profile`, else `$AWS_PROFILE`) or
 * `--aws-credentials-file` selects that profile (`default` when only a file is named) of the shared
 * files, read from the credentials file (`--aws-credentials-file`, else `$AWS_SHARED_CREDENTIALS_FILE`,
 * else `~/.aws/credentials`) and the config file. Otherwise the SDK's default chain is used unchanged.
 * A named file that is missing is a ConfigError and one that cannot be read a CredentialsError (both
 * exit 2), thrown here, before any request. The credentials file that may be read (the named one, else
 * `~/.aws/credentials` when it exists) gets the shared permission check.
 */
export function readAwsCredentials(opts: AwsAuthOptions = {}): AwsCredentials {
  const env = opts.env ?? process.env;
  const profile = resolveSetting({ name: 'profile', flag: opts.profile, env: profileEnv }, env);
  const named = resolveSetting(
    { name: 'credentials file', flag: opts.credentialsFile, env: credentialsFileEnv },
    env,
  );
  const credentialsFile = expandHome(
    named.value ?? join(homeDirectory(opts.homeDir), '.aws', 'credentials'),
    opts.homeDir,
  );
  const display = tildePath(credentialsFile, opts.homeDir);
  const profileName = profile.value ?? DEFAULT_PROFILE;

  if (named.source !== 'unset') {
    const origin = named.source === 'flag' ? credentialsFileFlag : `$${credentialsFileEnv}`;
    const what = `credentials file ${display} (${origin})`;
    try {
      readFileSync(credentialsFile);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new ConfigError(`aws: no ${what}, so profile "${profileName}" cannot be read`, {
          code: 'config.credentials',
          cause: e,
        });
      throw new CredentialsError(
        `aws: cannot read ${what} for profile "${profileName}": ${describeIoError(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  const warnings: string[] = [];
  const warning = checkFilePrivate(credentialsFile, display);
  if (warning) {
    warnings.push(warning);
    opts.onWarning?.(warning);
  }

  // $AWS_SHARED_CREDENTIALS_FILE only moves the file the chain reads (environment keys still come
  // first), as it does for the SDK; --aws-credentials-file and a profile choose the file's profile.
  if (profile.source === 'unset' && named.source !== 'flag') {
    const chainFile = named.source === 'env' ? credentialsFile : undefined;
    return {
      source: { kind: 'chain', ...(chainFile ? { credentialsFile: chainFile } : {}) },
      label: `the SDK's default chain${chainFile ? ` (credentials file ${display})` : ''}`,
      provider: registeringSecrets(async () =>
        (await import('@aws-sdk/credential-provider-node')).defaultProvider(),
      ),
      warnings,
    };
  }
  const profileFrom = origin(profile.source);
  const credentialsFileFrom = origin(named.source);
  const profileOrigin =
    profileFrom === 'flag' ? ` (${profileFlag})` : profileFrom === 'env' ? ` ($${profileEnv})` : '';
  return {
    source: { kind: 'profile', profile: profileName, profileFrom, credentialsFile, credentialsFileFrom },
    label: `profile "${profileName}"${profileOrigin} in ${display}`,
    provider: registeringSecrets(async () =>
      (await import('@aws-sdk/credential-provider-ini')).fromIni({
        profile: profileName,
        filepath: credentialsFile,
      }),
    ),
    warnings,
  };
}

function origin(source: 'flag' | 'env' | 'default' | 'file' | 'unset'): AwsSettingOrigin {
  return source === 'flag' || source === 'env' ? source : 'default';
}

/**
 * A provider that makes the SDK's provider on first use and registers the secret parts of every
 * identity it yields, refreshed ones included. The access key id is left visible: it is not a secret
 * (AWS shows it in consoles and error messages), and it tells the operator which key was used.
 */
function registeringSecrets(
  make: () => Promise<AwsCredentialIdentityProvider>,
): AwsCredentialIdentityProvider {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (identityProperties) => {
    provider ??= make();
    const identity: AwsCredentialIdentity = await (await provider)(identityProperties);
    registerSecret(identity.secretAccessKey);
    registerSecret(identity.sessionToken);
    return identity;
  };
}
