import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { EBSClient } from '@aws-sdk/client-ebs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { readAwsCredentials } from '@mantle/auth';
import { ConfigError } from '@mantle/cluster';
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

/** Connections to S3 at once: above the most parts an upload sends in parallel. */
const s3MaxSockets = 64;

/** Attempts per call, for throttling (RequestLimitExceeded), 5xx and network errors. */
export const defaultMaxAttempts = 8;

/** The services whose endpoint `$AWS_ENDPOINT_URL_<SERVICE>` can set on its own. */
export type AwsService = 'EC2' | 'S3' | 'EBS' | 'STS' | 'IAM';

/**
 * The endpoint for one service: the AWS SDKs' service-specific variable (`AWS_ENDPOINT_URL_S3`, …)
 * when set, else `--aws-endpoint`/`$AWS_ENDPOINT_URL`, else AWS's own. The most specific setting wins,
 * so S3 can go to a private endpoint (or straight to an emulator) while EC2 goes elsewhere.
 */
export function endpointFor(
  options: Pick<AwsOptions, 'endpoint'>,
  service: AwsService,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const variable = `AWS_ENDPOINT_URL_${service}`;
  const specific = env[variable];
  if (specific === undefined || specific === '') return options.endpoint;
  if (!URL.canParse(specific) || !/^https?:$/.test(new URL(specific).protocol))
    throw new ConfigError(`$${variable}: "${specific}" is not an http(s) URL`);
  return specific;
}

export interface AwsClientSettings {
  maxAttempts?: number;
  region?: string;
  /** Where a credentials-file warning goes (it is readable by others); default a line on stderr. */
  onWarning?: (message: string) => void;
}

/**
 * Clients for `options`. The credentials are read through @mantle/auth (the SDK's chain unless a
 * profile or credentials file is named), once for these clients and every `inRegion` copy; a named
 * credentials file that is missing or unreadable throws here, before any request.
 */
export function createAwsClients(options: AwsOptions, settings: AwsClientSettings = {}): AwsClients {
  // Node 20 is supported by these SDK versions; the notice about 2027 releases is noise on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { provider } = readAwsCredentials({
    profile: options.profile,
    credentialsFile: options.credentialsFile,
    onWarning: settings.onWarning ?? ((message) => process.stderr.write(`aws: warning: ${message}\n`)),
  });
  return clientsWith(options, settings, provider);
}

function clientsWith(
  options: AwsOptions,
  settings: AwsClientSettings,
  credentials: AwsCredentialIdentityProvider,
): AwsClients {
  const region = settings.region ?? options.region;
  const endpoints = Object.fromEntries(
    (['EC2', 'S3', 'EBS', 'STS', 'IAM'] as const).map((service) => [service, endpointFor(options, service)]),
  ) as Record<AwsService, string | undefined>;
  const base = (service: AwsService) => ({
    region,
    maxAttempts: settings.maxAttempts ?? defaultMaxAttempts,
    retryMode: 'standard',
    ...(endpoints[service] ? { endpoint: endpoints[service] } : {}),
    credentials,
  });
  // made with the S3 client, so verbs that never talk to S3 hold no agents
  let s3Agents: { http: HttpAgent; https: HttpsAgent } | undefined;
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
    ec2: () => lazy('ec2', async () => new (await import('@aws-sdk/client-ec2')).EC2Client(base('EC2'))),
    s3: () =>
      lazy('s3', async () => {
        // Our own keep-alive agents: without them the SDK gives every request that says
        // `Expect: 100-continue` (each UploadPart) a fresh connection (and TLS handshake), which
        // it closes after the part.
        s3Agents = {
          http: new HttpAgent({ keepAlive: true, maxSockets: s3MaxSockets }),
          https: new HttpsAgent({ keepAlive: true, maxSockets: s3MaxSockets }),
        };
        return new (await import('@aws-sdk/client-s3')).S3Client({
          ...base('S3'),
          // path-style addressing: emulators and private endpoints have no per-bucket host names
          forcePathStyle: Boolean(endpoints.S3),
          requestHandler: { httpAgent: s3Agents.http, httpsAgent: s3Agents.https },
        });
      }),
    ebs: () => lazy('ebs', async () => new (await import('@aws-sdk/client-ebs')).EBSClient(base('EBS'))),
    sts: () => lazy('sts', async () => new (await import('@aws-sdk/client-sts')).STSClient(base('STS'))),
    iam: () => lazy('iam', async () => new (await import('@aws-sdk/client-iam')).IAMClient(base('IAM'))),
    inRegion: (other) => clientsWith(options, { ...settings, region: other }, credentials),
    destroy() {
      for (const p of cache.values()) void p.then((c) => c.destroy()).catch(() => {});
      cache.clear();
      s3Agents?.http.destroy();
      s3Agents?.https.destroy();
      s3Agents = undefined;
    },
  };
  return clients;
}
