import { join } from 'node:path';
import {
  createLogger,
  errorMessage,
  generateSshIdentity,
  HostKeyStore,
  jsonFileSink,
  Ledger,
  type PlatformContext,
  readLedger,
  streamSink,
  UsageError,
} from '@mantle/cluster';
import type { CommonOptions } from '../common-options.js';
import type { KolaCommandEnvironment } from '../environment.js';
import { logLevelOf, resolvePlatform } from './setup.js';

export interface CleanupFlags extends CommonOptions {
  run: string;
  [key: string]: unknown;
}

/**
 * Destroys every resource the run's ledger lists without a destroy mark, through the platform that
 * made it, and marks each one destroyed. Prints one line per resource on stdout.
 */
export async function cleanupCommand(opts: CleanupFlags, env: KolaCommandEnvironment): Promise<number> {
  const ledgerPath = join(opts.run, 'ledger.jsonl');
  const alive = readLedger(ledgerPath).filter((e) => !e.destroyedAt);
  if (!alive.length) {
    process.stdout.write(`nothing to clean up in ${opts.run}\n`);
    return 0;
  }
  const log = createLogger([
    streamSink(process.stderr, logLevelOf(opts)),
    jsonFileSink(join(opts.run, 'kola.log')),
  ]);
  const ledger = Ledger.open(ledgerPath);
  let failed = 0;
  try {
    for (const platformName of new Set(alive.map((e) => e.platform))) {
      const { platform, options } = await resolvePlatform({ ...opts, platform: platformName }, env);
      if (!platform.destroyLedgerEntry)
        throw new UsageError(`platform ${platformName} cannot destroy resources from a ledger`);
      const ctx: PlatformContext = {
        log,
        signal: env.interrupts.signal,
        outputDir: opts.run,
        ssh: generateSshIdentity(),
        sshTimeoutMs: 60_000,
        hostKeys: new HostKeyStore(),
        tags: { 'created-by': 'mantle' },
        ledger,
        runId: 'cleanup',
        basename: opts.basename,
      };
      // dependents (machines) before what they depend on (networks, keys): reverse creation order
      for (const entry of alive.filter((e) => e.platform === platformName).reverse()) {
        try {
          await platform.destroyLedgerEntry(entry, options, ctx);
          ledger.destroyed(entry.key);
          process.stdout.write(`destroyed ${entry.key}\n`);
        } catch (e) {
          failed++;
          process.stdout.write(`failed ${entry.key}: ${errorMessage(e)}\n`);
        }
      }
    }
  } finally {
    ledger.close();
    log.close();
  }
  return failed ? 3 : 0;
}
