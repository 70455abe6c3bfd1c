import { errorMessage, MantleError } from './errors.js';
import type { LedgerEntry } from './ledger.js';
import type { PlatformContext } from './platform.js';
import { deadline, releaseDeadline } from './wait.js';

/** Destroys one resource of a kind, named by a ledger entry; already gone is success. */
export type LedgerKindDestroyer = (signal: AbortSignal) => Promise<void>;

/**
 * The body of a cloud platform's `destroyLedgerEntry` (`kola cleanup --run DIR`): runs the
 * destroyer of the entry's kind under a 10-minute deadline. A kind the platform has no destroyer for
 * is an error naming it (`<platform>.ledger.unknown-kind`); every failure is logged at debug.
 */
export async function destroyLedgerEntryByKind(
  entry: LedgerEntry,
  ctx: PlatformContext,
  platform: string,
  destroyers: Readonly<Record<string, LedgerKindDestroyer>>,
): Promise<void> {
  const signal = deadline(ctx.signal, 10 * 60_000, `destroying ${entry.kind} ${entry.id}`);
  try {
    const destroy = Object.hasOwn(destroyers, entry.kind) ? destroyers[entry.kind] : undefined;
    if (!destroy)
      throw new MantleError(
        `${platform}.ledger.unknown-kind`,
        `ledger entry ${entry.key}: kola does not know how to destroy ${/^[aeiou]/.test(platform) ? 'an' : 'a'} ${platform} "${entry.kind}"`,
      );
    await destroy(signal);
  } catch (e) {
    ctx.log.debug(`${platform}: ledger entry not destroyed`, { key: entry.key, error: errorMessage(e) });
    throw e;
  } finally {
    releaseDeadline(signal);
  }
}
