import { FakeReplyError } from '../http/errors.js';
import type { FakeReply } from '../http/routes.js';

const statusNames: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  416: 'OUT_OF_RANGE',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** A Google API error answer: `{error: {code, message, errors: [{message, domain, reason}], status}}`. */
export function googleError(
  code: number,
  reason: string,
  message: string,
  headers?: Record<string, string>,
): FakeReply {
  return {
    status: code,
    body: {
      error: {
        code,
        message,
        errors: [{ message, domain: 'global', reason }],
        status: statusNames[code] ?? 'UNKNOWN',
      },
    },
    ...(headers ? { headers } : {}),
  };
}

/** Throws the error answer from inside a route's helpers. */
export function fail(code: number, reason: string, message: string): never {
  throw new FakeReplyError(googleError(code, reason, message), message);
}
