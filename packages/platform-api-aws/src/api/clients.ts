import type { EBSClient } from '@aws-sdk/client-ebs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { AwsOptions } from '../options.js';

/**
 * The SDK clients for one set of options and one region. Clients are built on first use, so a verb
 * that only talks to EC2 never loads S3. No kola concepts live in `api/`.
 */
export interface AwsClients {
  readonly region: string;
  ec2(): Promise<EC2Client>;
  s3(): Promise<S3Client>;
  ebs(): Promise<EBSClient>;
  sts(): Promise<STSClient>;
  iam(): Promise<IAMClient>;
  /** The same options in another region (copy-image, gc across regions). */
  inRegion(region: string): AwsClients;
  destroy(): void;
}

/** Attempts per call, for throttling (RequestLimitExceeded), 5xx and network errors. */
export const defaultMaxAttempts = 8;

function credentialsFor(options: AwsOptions): AwsCredentialIdentityProvider | undefined {
  // The SDK's standard chain (env, shared files, SSO, IMDS) unless a profile or file is named.
  if (!options.profile && !options.credentialsFile) return undefined;
  let provider: AwsCredentialIdentityProvider | undefined;
  return async (identityProperties) => {
    if (!provider) {
      const { fromIni } = await import('@aws-sdk/credential-provider-ini');
      provider = fromIni({
        ...(options.profile ? { profile: options.profile } : {}),
        ...(options.credentialsFile ? { filepath: options.credentialsFile } : {}),
      });
    }
    return provider(identityProperties);
  };
}

export function createAwsClients(
  options: AwsOptions,
  settings: { maxAttempts?: number; region?: string } = {},
): AwsClients {
  // Node 20 is supported by these SDK versions; the notice about 2027 releases is noise on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = settings.region ?? options.region;
  const credentials = credentialsFor(options);
  const base = {
    region,
    maxAttempts: settings.maxAttempts ?? defaultMaxAttempts,
    retryMode: 'standard',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
  const cache = new Map<string, Promise<{ destroy(): void }>>();
  const lazy = <T extends { destroy(): void }>(name: string, make: () => Promise<T>): Promise<T> => {
    let p = cache.get(name);
    if (!p) {
      p = make();
      cache.set(name, p);
    }
    return p as Promise<T>;
  };
  const clients: AwsClients = {
    region,
    ec2: () => lazy('ec2', async () => new (await import('@aws-sdk/client-ec2')).EC2Client(base)),
    s3: () =>
      lazy(
        's3',
        async () =>
          // path-style addressing: emulators and private endpoints have no per-bucket host names
          new (await import('@aws-sdk/client-s3')).S3Client({
            ...base,
            forcePathStyle: Boolean(options.endpoint),
          }),
      ),
    ebs: () => lazy('ebs', async () => new (await import('@aws-sdk/client-ebs')).EBSClient(base)),
    sts: () => lazy('sts', async () => new (await import('@aws-sdk/client-sts')).STSClient(base)),
    iam: () => lazy('iam', async () => new (await import('@aws-sdk/client-iam')).IAMClient(base)),
    inRegion: (other) => createAwsClients(options, { ...settings, region: other }),
    destroy() {
      for (const p of cache.values()) void p.then((c) => c.destroy()).catch(() => {});
      cache.clear();
    },
  };
  return clients;
}
