import { errorMessage } from '@mantle/cluster';
import { createMetalClient } from '../credentials.js';
import type { noOptions, PacketVerbInput } from './schemas.js';

/** `ore packet list-keys`: the project's key labels, one a line; --json adds id and fingerprint. */
export async function runListKeys(input: PacketVerbInput<typeof noOptions>): Promise<number> {
  const { platformOptions, signal, io, log } = input;
  const keys = await createMetalClient(platformOptions, log).sshKeys(signal);
  io.result(
    keys.map((k) => ({ label: k.label ?? '', id: k.id, fingerprint: k.fingerprint ?? '' })),
    keys.map((k) => `${k.label ?? ''}\n`).join(''),
  );
  return 0;
}

/** `ore packet delete-keys <label...>`: every key of each label; a label no key has makes the exit 1. */
export async function runDeleteKeys(input: PacketVerbInput<typeof noOptions>): Promise<number> {
  const { platformOptions, signal, io, log, args } = input;
  const client = createMetalClient(platformOptions, log);
  const keys = await client.sshKeys(signal);
  const deleted: string[] = [];
  const missing: string[] = [];
  const failed: Array<{ label: string; error: string }> = [];
  for (const label of new Set(args)) {
    const matching = keys.filter((k) => k.label === label);
    if (matching.length === 0) {
      missing.push(label);
      log.error(`packet: no SSH key labelled ${label}`);
      continue;
    }
    for (const k of matching) {
      try {
        await client.deleteSshKey(k.id, signal);
        deleted.push(label);
      } catch (e) {
        if (signal.aborted) throw e;
        failed.push({ label, error: errorMessage(e) });
        log.error(`packet: deleting SSH key ${label}: ${errorMessage(e)}`);
      }
    }
  }
  io.result({ deleted, missing, failed }, deleted.map((n) => `deleted ${n}\n`).join(''));
  return missing.length || failed.length ? 1 : 0;
}
