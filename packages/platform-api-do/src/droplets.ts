import {
  deadline,
  errorMessage,
  type Logger,
  PlatformApiError,
  releaseDeadline,
  waitFor,
} from '@mantle/cluster';
import type { CreateDropletRequest, DoClient } from './api/client.js';
import { type Droplet, dropletAddresses } from './api/schemas.js';

/** Droplet life cycle shared by kola's machines and ore's helper droplet. */

export interface DropletWaits {
  pollIntervalMs: number;
  /** mantle waits 5 min for `active`. */
  activeTimeoutMs: number;
  goneTimeoutMs: number;
}

export const defaultWaits: DropletWaits = {
  pollIntervalMs: 2000,
  activeTimeoutMs: 5 * 60_000,
  goneTimeoutMs: 5 * 60_000,
};

export type ActiveDroplet = Droplet & { publicIp: string; privateIp: string };

/** Polls until the droplet is `active` with a public and a private IPv4 (both required, as mantle). */
export async function waitActive(
  client: DoClient,
  id: number,
  waits: DropletWaits,
  signal: AbortSignal,
): Promise<ActiveDroplet> {
  const result = await waitFor(
    async (s) => {
      const d = await client.droplet(id, s);
      if (!d) return { failed: `droplet ${id} vanished before it was active` };
      if (d.status === 'archive' || d.status === 'off')
        return { failed: `droplet ${id} is ${d.status} before it was active` };
      const { publicIp, privateIp } = dropletAddresses(d);
      return d.status === 'active' && publicIp && privateIp ? { ...d, publicIp, privateIp } : undefined;
    },
    {
      phase: `for droplet ${id} to be active with a public and a private IPv4`,
      timeoutMs: waits.activeTimeoutMs,
      intervalMs: waits.pollIntervalMs,
      backoff: 1.5,
      maxIntervalMs: 10_000,
      signal,
    },
  );
  if ('failed' in result)
    throw new PlatformApiError({ platform: 'do', operation: 'droplets_create' }, result.failed as string);
  return result;
}

/** Polls until DigitalOcean no longer knows the droplet. */
export async function waitGone(
  client: DoClient,
  id: number,
  waits: Pick<DropletWaits, 'pollIntervalMs' | 'goneTimeoutMs'>,
  signal: AbortSignal,
): Promise<void> {
  await waitFor(async (s) => (await client.droplet(id, s)) === undefined, {
    phase: `for droplet ${id} to be gone`,
    timeoutMs: waits.goneTimeoutMs,
    intervalMs: waits.pollIntervalMs,
    backoff: 1.5,
    maxIntervalMs: 10_000,
    signal,
  });
}

/** Deletes the droplet and waits until it is gone; already gone is success. */
export async function destroyDroplet(
  client: DoClient,
  id: number,
  waits: Pick<DropletWaits, 'pollIntervalMs' | 'goneTimeoutMs'>,
  signal: AbortSignal,
): Promise<void> {
  await client.deleteDroplet(id, signal);
  await waitGone(client, id, waits, signal);
}

/**
 * Creates a droplet. If the create is interrupted (Ctrl-C, a deadline) the droplet may exist all
 * the same: it is looked for by name under a fresh deadline and destroyed before the error goes on.
 */
export async function createDroplet(
  client: DoClient,
  request: CreateDropletRequest,
  findTag: string,
  o: { signal: AbortSignal; waits: DropletWaits; log: Logger },
): Promise<Droplet> {
  try {
    return await client.createDroplet(request, findTag, o.signal);
  } catch (e) {
    if (!o.signal.aborted) throw e;
    const signal = deadline(undefined, o.waits.goneTimeoutMs, `removing droplet ${request.name}`);
    try {
      for (const d of await client.dropletsByTag(findTag, signal))
        if (d.name === request.name) await destroyDroplet(client, d.id, o.waits, signal);
    } catch (cleanup) {
      o.log.warn(`do: droplet ${request.name} may be left behind`, { error: errorMessage(cleanup) });
    } finally {
      releaseDeadline(signal);
    }
    throw e;
  }
}
