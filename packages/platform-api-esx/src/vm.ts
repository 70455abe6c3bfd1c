import type { VimClient } from './soap/client.js';
import { isFault } from './soap/faults.js';
import { type MoRef, text } from './soap/xml.js';

/** Powers a VM off (if on) and destroys it; already gone resolves. Used by kola, cleanup, gc and ore. */
export async function powerOffAndDestroy(client: VimClient, vm: MoRef, signal: AbortSignal): Promise<void> {
  try {
    const state = text(
      (await client.properties(vm, ['runtime.powerState'], signal)).get('runtime.powerState'),
    );
    if (state !== 'poweredOff') {
      await client.runTask('PowerOffVM_Task', client.powerOffVM(vm, signal), signal).catch((e: unknown) => {
        // it went off by itself meanwhile: fine
        if (!isFault(e, 'InvalidPowerState')) throw e;
      });
    }
    await client.runTask('Destroy_Task', client.destroy(vm, signal), signal);
  } catch (e) {
    if (isFault(e, 'ManagedObjectNotFound')) return;
    throw e;
  }
}

/** `[LocalDS_0] kola-abc/` → { datastore: 'LocalDS_0', path: 'kola-abc' } */
export function parseDatastorePath(p: string): { datastore: string; path: string } | undefined {
  const m = /^\[([^\]]+)\]\s*(.*?)\/?$/.exec(p);
  return m ? { datastore: m[1] as string, path: m[2] as string } : undefined;
}
