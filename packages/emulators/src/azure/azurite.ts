import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError } from '@mantle/cluster';

/** azurite's well-known development account (the same on every machine). */
export const devStoreAccount = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

export interface StorageAccountKey {
  name: string;
  /** Base64. */
  key: string;
}

export interface Azurite extends AsyncDisposable {
  /** `http://127.0.0.1:N`; an account's blob service is `<origin>/<account>`. */
  origin: string;
  accounts: readonly StorageAccountKey[];
  /** `<origin>/<account>` */
  blobUrl(account: string): string;
  connectionString(account?: string): string;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * azurite's blob service on a free loopback port, in memory, without telemetry (it would otherwise
 * try to reach Application Insights). `accounts` are served besides the development account.
 */
export async function startAzurite(
  options: {
    accounts?: readonly StorageAccountKey[];
    signal?: AbortSignal;
    log?: (line: string) => void;
  } = {},
): Promise<Azurite> {
  const accounts = [
    devStoreAccount,
    ...(options.accounts ?? []).filter((a) => a.name !== devStoreAccount.name),
  ];
  const bin = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const child = spawn(
    process.execPath,
    [
      bin,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--inMemoryPersistence',
      '--disableTelemetry',
      // the SDKs send newer x-ms-version headers than azurite 3.35 knows
      '--skipApiVersionCheck',
      '--loose',
    ],
    {
      env: { ...process.env, AZURITE_ACCOUNTS: accounts.map((a) => `${a.name}:${a.key}`).join(';') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const origin = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new ConfigError(`azurite did not start in 30 s: ${output.trim()}`)),
      30_000,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(found[1]!);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', (e) => fail(new ConfigError(`could not start azurite (${bin}): ${e.message}`)));
    child.once('exit', (code) =>
      fail(new ConfigError(`azurite exited (${code}) before listening: ${output.trim()}`)),
    );
    options.signal?.addEventListener('abort', () => fail(new ConfigError('aborted while azurite started')), {
      once: true,
    });
  });
  child.removeAllListeners('exit');
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => options.log?.(`azurite: ${chunk.toString().trimEnd()}`));
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= stop(child);
    return closed;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return {
    origin,
    accounts,
    blobUrl: (account) => `${origin}/${account}`,
    connectionString(account = devStoreAccount.name) {
      const found = accounts.find((a) => a.name === account);
      if (!found) throw new ConfigError(`azurite has no account ${account}`);
      return `DefaultEndpointsProtocol=http;AccountName=${found.name};AccountKey=${found.key};BlobEndpoint=${origin}/${found.name};`;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
