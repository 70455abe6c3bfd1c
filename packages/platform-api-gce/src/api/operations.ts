import type { protos } from '@google-cloud/compute';
import { deadline, type Logger, releaseDeadline } from '@mantle/cluster';
import type { GceClients } from './clients.js';
import { operationError } from './errors.js';
import { gceCall, googleJson } from './http.js';

export type Operation = protos.google.cloud.compute.v1.IOperation;

/** What an SDK call that starts a long-running operation resolves to (`[lro, …]`). */
export type LroAnswer = readonly [{ latestResponse?: unknown; name?: string | null }, ...unknown[]];

/** The Operation an SDK call started. */
export function operationOf(answer: LroAnswer): Operation {
  const op = (answer[0].latestResponse ?? answer[0]) as Operation;
  if (!op?.name) throw new Error('the API answered without an operation');
  return op;
}

export interface WaitOperationOptions {
  signal: AbortSignal;
  /** How long the operation may take (mantle: 10 min for instances). */
  timeoutMs: number;
  log?: Logger;
}

/**
 * Waits for a zone or global operation with `operations.wait` (which answers when it is DONE or after
 * about two minutes) until DONE, within `timeoutMs` and the signal; a DONE operation with errors
 * throws its first error (QUOTA_EXCEEDED, RESOURCE_NOT_FOUND, …) as a typed error.
 */
export async function waitOperation(
  clients: GceClients,
  what: string,
  started: Operation,
  where: { zone?: string },
  options: WaitOperationOptions,
): Promise<Operation> {
  const signal = deadline(options.signal, options.timeoutMs, `for ${what} to finish`);
  try {
    let op = started;
    while (op.status !== 'DONE') {
      const name = op.name ?? '';
      if (where.zone) {
        const ops = await clients.zoneOperations();
        [op] = await gceCall('zoneOperations.wait', { signal, log: options.log }, () =>
          ops.wait({ project: clients.project, zone: where.zone, operation: name }),
        );
      } else {
        // REST: global operations belong to images, whose calls are made without the SDK
        ({ body: op } = await googleJson<Operation>(
          clients.auth,
          'globalOperations.wait',
          `${clients.computeUrl}/projects/${encodeURIComponent(clients.project)}/global/operations/${encodeURIComponent(name)}/wait`,
          { method: 'POST' },
          { signal, log: options.log },
        ));
      }
    }
    const errors = op.error?.errors ?? [];
    if (errors.length) throw operationError(what, errors, op.httpErrorStatusCode ?? undefined);
    return op;
  } finally {
    releaseDeadline(signal);
  }
}
