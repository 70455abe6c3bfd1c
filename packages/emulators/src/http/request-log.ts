import type { FaultKind } from '../faults/faults.js';

export interface LoggedRequest {
  operationId: string;
  method: string;
  path: string;
  /** Undefined while the request is in flight, and for a dropped connection. */
  status: number | undefined;
  fault?: FaultKind;
  /** `performance.now()` of this process when the request's headers arrived. */
  arrivedAt?: number;
  /** `performance.now()` of this process when the answer was sent (benches time phases by it). */
  answeredAt?: number;
}

/** Every request a fake received, in order of arrival; benches read the per-operation counts. */
export interface RequestLog {
  counts(): Map<string, number>;
  entries(): readonly LoggedRequest[];
  reset(): void;
}

export function createRequestLog(): RequestLog & { add(entry: LoggedRequest): LoggedRequest } {
  let entries: LoggedRequest[] = [];
  return {
    add(entry) {
      entries.push(entry);
      return entry;
    },
    counts() {
      const counts = new Map<string, number>();
      for (const { operationId } of entries) counts.set(operationId, (counts.get(operationId) ?? 0) + 1);
      return counts;
    },
    entries: () => entries,
    reset() {
      entries = [];
    },
  };
}
