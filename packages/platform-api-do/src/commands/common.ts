import { type Logger, PlatformApiError, pollEvery } from '@mantle/cluster';
import type { DoClient } from '../api/client.js';
import type { Action, Image } from '../api/schemas.js';

export interface Pace {
  intervalMs: number;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * What a long wait shows on stderr: a line when the status changes and one at the end, with the
 * time taken (DigitalOcean gives no percentage for imports, snapshots or transfers).
 */
export interface StatusLines {
  status(text: string): void;
  done(text: string): void;
}

export function statusLines(log: Logger, label: string, now: () => number = Date.now): StatusLines {
  const started = now();
  const after = () => `${((now() - started) / 1000).toFixed(1)}s`;
  let last: string | undefined;
  return {
    status(text) {
      if (text === last) return;
      last = text;
      log.notice(`${label}: ${text} (${after()})`);
    },
    done(text) {
      log.notice(`${label}: ${text} after ${after()}`);
    },
  };
}

/** Polls an action until `completed`; `errored` fails. */
export function waitAction(client: DoClient, action: Action, what: string, pace: Pace): Promise<Action> {
  return pollEvery(`for ${what} (action ${action.id})`, pace, async () => {
    const a = action.status === 'in-progress' ? await client.action(action.id, pace.signal) : action;
    action = a;
    if (a.status === 'errored')
      throw new PlatformApiError(
        { platform: 'do', operation: `action ${a.type}` },
        `${what} failed (action ${a.id})`,
      );
    return a.status === 'completed' ? a : undefined;
  });
}

/** Polls a custom image until `available`; a deleted or retired image, or an error message, fails. */
export function waitImageAvailable(
  client: DoClient,
  id: number,
  pace: Pace,
  progress: StatusLines,
): Promise<Image> {
  return pollEvery(`for image ${id} to be available`, pace, async () => {
    const image = await client.image(id, pace.signal);
    if (!image)
      throw new PlatformApiError(
        { platform: 'do', operation: 'images_get' },
        `image ${id} vanished while it was made`,
      );
    const status = image.status ?? 'unknown';
    progress.status(status);
    if (image.error_message)
      throw new PlatformApiError(
        { platform: 'do', operation: 'images_create_custom' },
        `DigitalOcean could not make image ${id}: ${image.error_message}`,
      );
    if (status === 'deleted' || status === 'retired')
      throw new PlatformApiError(
        { platform: 'do', operation: 'images_create_custom' },
        `image ${id} is ${status}`,
      );
    return status === 'available' ? image : undefined;
  });
}

/** Transfers the image to each region it is not in yet (in parallel), waiting for every transfer. */
export async function transferToRegions(
  client: DoClient,
  image: Image,
  regions: readonly string[],
  pace: Pace,
  log: Logger,
): Promise<string[]> {
  const have = new Set(image.regions ?? []);
  const wanted = regions.filter((r) => !have.has(r));
  await Promise.all(
    wanted.map(async (region) => {
      log.notice(`do: transferring image ${image.id} to ${region}`);
      const action = await client.transferImage(image.id, region, pace.signal);
      await waitAction(client, action, `the transfer of image ${image.id} to ${region}`, pace);
      log.notice(`do: image ${image.id} is in ${region}`);
    }),
  );
  const after = await client.image(image.id, pace.signal);
  return [...new Set([...(after?.regions ?? image.regions ?? []), ...regions])];
}
