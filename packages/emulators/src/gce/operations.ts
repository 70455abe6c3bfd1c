import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from './resources.js';

/** The error an operation ends with (its `error.errors[0]`), and the HTTP status GCE reports with it. */
export class OperationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

const httpMessages: Record<number, string> = {
  400: 'BAD REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT FOUND',
  409: 'CONFLICT',
  500: 'INTERNAL SERVER ERROR',
};

export interface Operation {
  id: string;
  name: string;
  /** Undefined for a global operation. */
  zone: string | undefined;
  operationType: string;
  /** Relative to the project, e.g. `zones/us-central1-a/instances/kola-1`. */
  targetPath: string;
  targetId: string;
  user: string;
  insertTime: string;
  startTime: string;
  endTime?: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  error?: OperationError;
  /** Settles (never rejects) once the operation is DONE. */
  done: Promise<void>;
}

/**
 * Compute Engine's long-running operations: RUNNING while the work runs, DONE once it has and at
 * least `minMs` have passed (so clients really poll or wait); a failed work's OperationError is the
 * operation's `error`, as GCE reports asynchronous failures.
 */
export function createOperations(options: { minMs: number; user: string; signal: AbortSignal }) {
  const operations = new Map<string, Operation>();
  const start = (
    fields: Pick<Operation, 'zone' | 'operationType' | 'targetPath' | 'targetId'>,
    work: () => Promise<void>,
  ): Operation => {
    const now = Date.now();
    const name = `operation-${now}-${randomBytes(7).toString('hex').slice(0, 13)}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
    const stamp = new Date(now).toISOString();
    const op: Operation = {
      id: newId(),
      name,
      ...fields,
      user: options.user,
      insertTime: stamp,
      startTime: stamp,
      status: 'RUNNING',
      done: Promise.resolve(),
    };
    op.done = (async () => {
      const delay = sleep(options.minMs, undefined, { signal: options.signal }).catch(() => {});
      try {
        await work();
      } catch (e) {
        op.error =
          e instanceof OperationError
            ? e
            : new OperationError('INTERNAL_ERROR', e instanceof Error ? e.message : String(e), 500);
      }
      await delay;
      op.status = 'DONE';
      op.endTime = new Date().toISOString();
    })();
    operations.set(name, op);
    return op;
  };

  const render = (op: Operation, projectUrl: string) => {
    const scopeUrl = op.zone ? `${projectUrl}/zones/${op.zone}` : `${projectUrl}/global`;
    return {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      ...(op.zone ? { zone: `${projectUrl}/zones/${op.zone}` } : {}),
      operationType: op.operationType,
      targetLink: `${projectUrl}/${op.targetPath}`,
      targetId: op.targetId,
      status: op.status,
      user: op.user,
      progress: op.status === 'DONE' ? 100 : 0,
      insertTime: op.insertTime,
      startTime: op.startTime,
      ...(op.endTime ? { endTime: op.endTime } : {}),
      selfLink: `${scopeUrl}/operations/${op.name}`,
      ...(op.error
        ? {
            error: { errors: [{ code: op.error.code, message: op.error.message }] },
            httpErrorStatusCode: op.error.httpStatus,
            httpErrorMessage: httpMessages[op.error.httpStatus] ?? 'ERROR',
          }
        : {}),
    };
  };

  return {
    start,
    render,
    get: (name: string) => operations.get(name),
    all: () => [...operations.values()],
    /** Waits for every operation still running (stop() does, so no work outlives the emulator). */
    async settle() {
      await Promise.all([...operations.values()].map((op) => op.done));
    },
  };
}

export type Operations = ReturnType<typeof createOperations>;
