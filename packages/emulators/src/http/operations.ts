import type { FakeReply } from './routes.js';

export interface LongRunningOptions<S extends string> {
  id: string;
  /** In order: the first is the state at creation, the last the finished one. At least two. */
  states: readonly [S, S, ...S[]];
  /** The state fail() moves to. */
  failedState?: S;
  /**
   * Finished on the Nth poll, or once this long has passed since creation, whichever comes first
   * (default: the second poll). Time is read when the operation is looked at: no timer runs.
   */
  completeAfter?: { polls?: number; ms?: number };
  /** Called once, the first time the operation is seen finished (the droplet becomes active…). */
  onDone?: () => void;
  now?: () => number;
}

export interface OperationError {
  code: string;
  message: string;
}

/**
 * An operation a client polls until it is done: the provider-neutral core of Google's zone operations,
 * Azure's async operations and DigitalOcean's actions.
 */
export interface LongRunning<S extends string> {
  readonly id: string;
  readonly createdAt: Date;
  /** When it finished (done or failed), once it has. */
  readonly finishedAt: Date | undefined;
  readonly polls: number;
  /** The state, without counting a poll: for the answer that started the operation, or the resource's GET. */
  peek(): S;
  /** A client's poll: counts it, then returns the state. */
  poll(): S;
  readonly finished: boolean;
  readonly error: OperationError | undefined;
  /** Ends the operation in `failedState` with this error. */
  fail(error: OperationError): void;
  /** 0 to 100. */
  progress(): number;
}

export function createLongRunning<S extends string>(options: LongRunningOptions<S>): LongRunning<S> {
  const now = options.now ?? Date.now;
  const { states } = options;
  const last = states.length - 1;
  const needPolls = options.completeAfter?.polls ?? (options.completeAfter?.ms === undefined ? 2 : undefined);
  const needMs = options.completeAfter?.ms;
  const createdAt = new Date(now());
  let polls = 0;
  let finishedAt: Date | undefined;
  let error: OperationError | undefined;

  const settle = () => {
    if (finishedAt) return;
    const byPolls = needPolls !== undefined && polls >= needPolls;
    const byTime = needMs !== undefined && now() - createdAt.getTime() >= needMs;
    if (!byPolls && !byTime) return;
    finishedAt = new Date(now());
    options.onDone?.();
  };
  const state = (): S => {
    settle();
    if (error) return options.failedState ?? states[last]!;
    // between the first state and the last, a poll moves it one state on, stopping before the last
    return finishedAt ? states[last]! : states[Math.min(polls, last - 1)]!;
  };

  return {
    id: options.id,
    createdAt,
    get finishedAt() {
      return finishedAt;
    },
    get polls() {
      return polls;
    },
    peek: state,
    poll() {
      polls++;
      return state();
    },
    get finished() {
      settle();
      return finishedAt !== undefined;
    },
    get error() {
      return error;
    },
    fail(failure) {
      if (finishedAt) return;
      error = failure;
      finishedAt = new Date(now());
    },
    progress() {
      settle();
      if (finishedAt) return 100;
      const byPolls = needPolls ? polls / needPolls : 0;
      const byTime = needMs ? (now() - createdAt.getTime()) / needMs : 0;
      return Math.min(99, Math.floor(100 * Math.max(byPolls, byTime)));
    },
  };
}

// Google Compute Engine: zone operations, PENDING → RUNNING → DONE.

export type GoogleOperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

export function createGoogleOperation(
  options: Omit<LongRunningOptions<GoogleOperationStatus>, 'states' | 'failedState'>,
): LongRunning<GoogleOperationStatus> {
  return createLongRunning({ ...options, states: ['PENDING', 'RUNNING', 'DONE'], failedState: 'DONE' });
}

export interface GoogleOperationTarget {
  /** `https://compute.googleapis.com/compute/v1/projects/<project>` (the fake's own URL in a fake). */
  projectUrl: string;
  zone: string;
  operationType: string;
  /** The resource the operation acts on. */
  targetLink: string;
  targetId?: string;
  user?: string;
}

/** The Compute `Operation` resource as a GET of the operation (or the insert that started it) returns it. */
export function googleZoneOperation(
  op: LongRunning<GoogleOperationStatus>,
  target: GoogleOperationTarget,
  observe: 'peek' | 'poll' = 'peek',
): Record<string, unknown> {
  const status = observe === 'poll' ? op.poll() : op.peek();
  const zoneUrl = `${target.projectUrl}/zones/${target.zone}`;
  const resource: Record<string, unknown> = {
    kind: 'compute#operation',
    id: op.id,
    name: `operation-${op.createdAt.getTime()}-${op.id}`,
    zone: zoneUrl,
    operationType: target.operationType,
    targetLink: target.targetLink,
    status,
    user: target.user ?? 'kola@emulated.invalid',
    progress: op.progress(),
    insertTime: op.createdAt.toISOString(),
    startTime: op.createdAt.toISOString(),
    selfLink: `${zoneUrl}/operations/operation-${op.createdAt.getTime()}-${op.id}`,
  };
  if (target.targetId !== undefined) resource.targetId = target.targetId;
  if (op.finishedAt) resource.endTime = op.finishedAt.toISOString();
  if (op.error) {
    resource.error = { errors: [{ code: op.error.code, message: op.error.message }] };
    resource.httpErrorStatusCode = 400;
    resource.httpErrorMessage = 'BAD REQUEST';
  }
  return resource;
}

// Azure Resource Manager: Azure-AsyncOperation / Location polling, InProgress → Succeeded.

export type AzureOperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

export function createAzureOperation(
  options: Omit<LongRunningOptions<AzureOperationStatus>, 'states' | 'failedState'>,
): LongRunning<AzureOperationStatus> {
  return createLongRunning({ ...options, states: ['InProgress', 'Succeeded'], failedState: 'Failed' });
}

/** The headers of the answer that starts an async operation: where to poll, and how often. */
export function azureAsyncHeaders(
  statusUrl: string,
  locationUrl = statusUrl,
  retryAfterSeconds = 1,
): Record<string, string> {
  return {
    'Azure-AsyncOperation': statusUrl,
    Location: locationUrl,
    'Retry-After': String(retryAfterSeconds),
  };
}

/** The answer to a poll of the `Azure-AsyncOperation` URL: 200 with the operation's status. */
export function azureOperationStatus(op: LongRunning<AzureOperationStatus>): FakeReply {
  const status = op.poll();
  const body: Record<string, unknown> = { name: op.id, status, startTime: op.createdAt.toISOString() };
  if (op.finishedAt) body.endTime = op.finishedAt.toISOString();
  if (op.error) body.error = { code: op.error.code, message: op.error.message };
  return { status: 200, body };
}

/**
 * The answer to a poll of the `Location` URL: 202 (with Location and Retry-After again) while it runs,
 * then 200 with the final body (204 without one); a failed operation answers its error.
 */
export function azureLocationReply(
  op: LongRunning<AzureOperationStatus>,
  locationUrl: string,
  finalBody?: unknown,
  retryAfterSeconds = 1,
): FakeReply {
  const status = op.poll();
  if (status === 'InProgress')
    return { status: 202, headers: { Location: locationUrl, 'Retry-After': String(retryAfterSeconds) } };
  if (status === 'Failed') return { status: 400, body: { error: op.error } };
  return finalBody === undefined ? { status: 204 } : { status: 200, body: finalBody };
}

// DigitalOcean: actions, in-progress → completed.

export type DigitalOceanActionStatus = 'in-progress' | 'completed' | 'errored';

export function createDigitalOceanAction(
  options: Omit<LongRunningOptions<DigitalOceanActionStatus>, 'states' | 'failedState'>,
): LongRunning<DigitalOceanActionStatus> {
  return createLongRunning({ ...options, states: ['in-progress', 'completed'], failedState: 'errored' });
}

export interface DigitalOceanActionTarget {
  /** `create`, `power_off`, `reboot`… */
  type: string;
  resourceId: number | null;
  resourceType: string;
  regionSlug?: string | null;
}

/** The `action` object (of `/v2/actions/{id}` and `/v2/droplets/{id}/actions/{id}`); the id must be numeric. */
export function digitalOceanAction(
  op: LongRunning<DigitalOceanActionStatus>,
  target: DigitalOceanActionTarget,
  observe: 'peek' | 'poll' = 'peek',
): Record<string, unknown> {
  const status = observe === 'poll' ? op.poll() : op.peek();
  return {
    id: Number(op.id),
    status,
    type: target.type,
    started_at: op.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    completed_at: op.finishedAt ? op.finishedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') : null,
    resource_id: target.resourceId,
    resource_type: target.resourceType,
    region_slug: target.regionSlug ?? null,
  };
}
