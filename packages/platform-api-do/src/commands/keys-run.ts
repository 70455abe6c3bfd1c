import { errorMessage } from '@mantle/cluster';
import { createDoClient } from '../credentials.js';
import type { DoVerbInput, noOptions } from './schemas.js';

/** `ore do list-keys`: the account's SSH key names, one a line (as mantle); --json adds id and fingerprint. */
export async function runListKeys(input: DoVerbInput<typeof noOptions>): Promise<number> {
  const { platformOptions, signal, io, log } = input;
  const keys = await createDoClient(platformOptions, log).sshKeys(signal);
  io.result(
    keys.map((k) => ({ name: k.name, id: k.id, fingerprint: k.fingerprint })),
    keys.map((k) => `${k.name}\n`).join(''),
  );
  return 0;
}

/**
 * `ore do delete-keys <name...>`: deletes every key of each name. As mantle, a name no key has is
 * reported and makes the exit status 1; the names that exist are deleted all the same.
 */
export async function runDeleteKeys(input: DoVerbInput<typeof noOptions>): Promise<number> {
  const { platformOptions, signal, io, log, args } = input;
  const client = createDoClient(platformOptions, log);
  const keys = await client.sshKeys(signal);
  const deleted: string[] = [];
  const missing: string[] = [];
  const failed: Array<{ name: string; error: string }> = [];
  for (const name of new Set(args)) {
    const matching = keys.filter((k) => k.name === name);
    if (matching.length === 0) {
      missing.push(name);
      log.error(`do: no SSH key named ${name}`);
      continue;
    }
    for (const k of matching) {
      try {
        await client.deleteSshKey(k.id, signal);
        deleted.push(name);
      } catch (e) {
        if (signal.aborted) throw e;
        failed.push({ name, error: errorMessage(e) });
        log.error(`do: deleting SSH key ${name}: ${errorMessage(e)}`);
      }
    }
  }
  io.result({ deleted, missing, failed }, deleted.map((n) => `deleted ${n}\n`).join(''));
  return missing.length || failed.length ? 1 : 0;
}
