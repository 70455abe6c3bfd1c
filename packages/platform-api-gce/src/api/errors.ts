import { CredentialsError, isMantleError, MantleError, PlatformApiError } from '@mantle/cluster';

/** Google's JSON error envelope (Compute and Storage): `{error: {code, message, errors: [{reason}]}}`. */
export interface GoogleErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    errors?: Array<{ reason?: string; message?: string; domain?: string }>;
  };
}

/** What an HTTP failure said, captured where the response was read. */
export interface HttpFailure {
  status: number;
  body?: GoogleErrorBody;
  requestId?: string;
}

/** The first `reason` of a Google error (`notFound`, `rateLimitExceeded`, `alreadyExists`, …). */
export function reasonOf(body: GoogleErrorBody | undefined): string | undefined {
  return body?.error?.errors?.find((e) => e.reason)?.reason ?? body?.error?.status;
}

/** Answers that say "slow down" or "come back later": retried with backoff. */
const rateReasons = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'backendError']);
/** Operation error codes of quotas that a finishing test frees (CPUs, addresses in the region). */
export const quotaCodes = new Set(['QUOTA_EXCEEDED', 'RATE_LIMIT_EXCEEDED', 'ZONE_RESOURCE_POOL_EXHAUSTED']);

/** Turns an HTTP failure into one line for the operator: 401 is a CredentialsError (exit 2). */
export function gceHttpError(operation: string, failure: HttpFailure, cause?: unknown): Error {
  const reason = reasonOf(failure.body);
  const message = (failure.body?.error?.message ?? `HTTP ${failure.status}`).split('\n')[0]!;
  if (failure.status === 401)
    return new CredentialsError(`gce ${operation}: the credentials were refused: ${message}`, {
      cause,
      hint: 'check --gce-json-key, $GOOGLE_APPLICATION_CREDENTIALS or --gce-service-auth',
    });
  return new PlatformApiError(
    {
      platform: 'gce',
      operation,
      status: failure.status,
      ...(reason ? { providerCode: reason } : {}),
      ...(failure.requestId ? { requestId: failure.requestId } : {}),
    },
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** A failed long-running operation: its first error's code (QUOTA_EXCEEDED, …) and message. */
export function operationError(
  operation: string,
  errors: ReadonlyArray<{ code?: string | null; message?: string | null }>,
  status?: number,
): PlatformApiError {
  const first = errors[0] ?? {};
  return new PlatformApiError(
    {
      platform: 'gce',
      operation,
      ...(status ? { status } : {}),
      ...(first.code ? { providerCode: first.code } : {}),
    },
    first.message ?? 'the operation failed',
  );
}

/** A failure without an HTTP answer (refused, reset, DNS, the SDK's own complaint): one line. */
export function gceNetworkError(operation: string, e: unknown, url?: string): Error {
  if (isMantleError(e)) return e;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
  return new PlatformApiError({ platform: 'gce', operation }, url ? `${new URL(url).origin}: ${why}` : why, {
    cause: e,
  });
}

export function statusOf(e: unknown): number | undefined {
  return e instanceof PlatformApiError ? e.details.status : undefined;
}

export function providerCodeOf(e: unknown): string | undefined {
  return e instanceof PlatformApiError ? e.details.providerCode : undefined;
}

/** "Already gone": removal treats it as success. */
export function isNotFound(e: unknown): boolean {
  return statusOf(e) === 404 || providerCodeOf(e) === 'notFound';
}

export function isAlreadyExists(e: unknown): boolean {
  return statusOf(e) === 409 || providerCodeOf(e) === 'alreadyExists';
}

/** Worth asking again: throttling, quotas that free up, 5xx, and answers that never came. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof CredentialsError) return false;
  if (e instanceof PlatformApiError) {
    const { status, providerCode } = e.details;
    if (providerCode && (rateReasons.has(providerCode) || quotaCodes.has(providerCode))) return true;
    if (status === undefined) return providerCode === undefined; // no answer at all: a network error
    return status === 429 || status >= 500;
  }
  return !(e instanceof MantleError);
}
