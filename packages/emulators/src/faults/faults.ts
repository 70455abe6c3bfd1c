import { ConfigError } from '@mantle/cluster';
import { mulberry32 } from './prng.js';

export const faultKinds = ['throttle', 'server-error', 'drop', 'latency'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultOptions {
  /** The share of requests (0 to 1) that get a fault. */
  rate: number;
  /** Same seed, same sequence of requests: same faults. */
  seed: number;
  /** Which faults to pick from, evenly; all of them by default. */
  kinds?: readonly FaultKind[];
  /** Operation ids that can get faults; all by default. Other operations draw nothing from the sequence. */
  operations?: readonly string[];
  /** The range an added latency is drawn from (default 20–200 ms). */
  latencyMs?: { min: number; max: number };
  /** What throttling answers tell the client to wait (default 1 s). */
  retryAfterSeconds?: number;
}

export type Fault =
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'server-error'; status: 500 | 503 }
  | { kind: 'drop' }
  | { kind: 'latency'; ms: number };

export interface FaultInjector {
  /** The fault for the next request to `operationId`, if it gets one. */
  decide(operationId: string): Fault | undefined;
  /** How many of each kind were injected so far. */
  injected(): Map<FaultKind, number>;
}

export function createFaultInjector(options: FaultOptions): FaultInjector {
  const { rate, seed } = options;
  if (!(rate >= 0 && rate <= 1)) throw new ConfigError(`fault rate ${rate} is not between 0 and 1`);
  if (!Number.isInteger(seed)) throw new ConfigError(`fault seed ${seed} is not an integer`);
  const kinds = options.kinds ?? faultKinds;
  if (kinds.length === 0) throw new ConfigError('no fault kinds to inject (kinds is empty)');
  for (const kind of kinds)
    if (!faultKinds.includes(kind))
      throw new ConfigError(`unknown fault kind ${kind} (known: ${faultKinds.join(', ')})`);
  const latency = options.latencyMs ?? { min: 20, max: 200 };
  if (!(latency.min >= 0 && latency.max >= latency.min))
    throw new ConfigError(`fault latency range ${latency.min}–${latency.max} ms is not a range`);
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const scope = options.operations ? new Set(options.operations) : undefined;
  const random = mulberry32(seed);
  const counts = new Map<FaultKind, number>();

  const pick = (kind: FaultKind): Fault => {
    switch (kind) {
      case 'throttle':
        return { kind, retryAfterSeconds };
      case 'server-error':
        return { kind, status: random() < 0.5 ? 500 : 503 };
      case 'drop':
        return { kind };
      case 'latency':
        return { kind, ms: Math.round(latency.min + random() * (latency.max - latency.min)) };
    }
  };

  return {
    decide(operationId) {
      if (scope && !scope.has(operationId)) return undefined;
      if (random() >= rate) return undefined;
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      return pick(kind);
    },
    injected: () => new Map(counts),
  };
}
