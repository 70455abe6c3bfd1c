import { readFile } from 'node:fs/promises';
import { resolveEsxCredentials } from '@mantle/auth';
import { ConfigError, type Logger } from '@mantle/cluster';
import type { EsxOptions } from './options.js';
import { VimClient } from './soap/client.js';

/** Where the requests go: tests record envelopes through it. */
export interface ConnectHooks {
  onEnvelope?: (method: string, xml: string) => void;
}

/** Credentials (flag > govc env > esx.json), the CA file, then Login. The caller disposes it. */
export async function connectEsx(
  options: EsxOptions,
  log: Logger,
  signal: AbortSignal,
  hooks: ConnectHooks = {},
): Promise<VimClient> {
  const creds = resolveEsxCredentials({
    server: options.server,
    user: options.user,
    password: options.password,
    configFile: options.configFile,
    profile: options.profile,
    onWarning: (m) => log.warn(m),
  });
  let ca: string | undefined;
  if (options.ca) {
    try {
      ca = await readFile(options.ca, 'utf8');
    } catch (e) {
      throw new ConfigError(`--esx-ca ${options.ca}: cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`--esx-ca ${options.ca}: no PEM certificate in the file`);
    }
  }
  const insecure = options.insecure || creds.insecure;
  if (insecure)
    log.warn('esx: TLS certificate of the server is not verified (--esx-insecure / $GOVC_INSECURE)');
  log.debug('esx: connecting', { url: creds.url, user: creds.user, sources: creds.sources });
  return VimClient.connect({
    url: creds.url,
    username: creds.user,
    password: creds.password,
    ...(ca ? { ca } : {}),
    insecure,
    signal,
    ...(hooks.onEnvelope ? { onEnvelope: hooks.onEnvelope } : {}),
  });
}
