import { randomUUID } from 'node:crypto';
import type { FakeReply } from './routes.js';

/** A request the fake refuses before any handler runs. */
export interface InvalidRequest {
  message: string;
  /** The body could not be parsed at all, as opposed to parsed but against the spec. */
  malformed: boolean;
  /** The response statuses the spec declares for the operation (empty without a spec). */
  declaredStatuses: readonly string[];
}

/**
 * How one provider says "no": the status codes, headers and bodies of its errors. The framework uses
 * it for requests against the spec, unknown paths and injected faults; handlers use it for their own.
 */
export interface ProviderShape {
  readonly name: string;
  invalidRequest(problem: InvalidRequest): FakeReply;
  notFound(message: string): FakeReply;
  /** The provider's "slow down" answer, with its Retry-After or rate-limit headers. */
  throttled(retryAfterSeconds: number): FakeReply;
  serverError(status: 500 | 503): FakeReply;
  /** Headers the provider puts on every response (request ids, rate-limit counters). */
  everyResponse?(): Record<string, string>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * DigitalOcean: `{id, message, request_id}` bodies; 422 `unprocessable_entity` for a body against the
 * schema (400 `bad_request` when it does not parse, or when the operation declares only 400), and the
 * `ratelimit-*` headers on every answer, counting down per request as the real API's hourly quota does.
 */
export function digitalOceanShape(options: { limit?: number } = {}): ProviderShape {
  const limit = options.limit ?? 5000;
  let remaining = limit;
  const resetAt = nowSeconds() + 3600;
  const error = (
    status: number,
    id: string,
    message: string,
    headers?: Record<string, string>,
  ): FakeReply => ({
    status,
    body: { id, message, request_id: randomUUID() },
    ...(headers ? { headers } : {}),
  });
  return {
    name: 'digitalocean',
    invalidRequest({ message, malformed, declaredStatuses }) {
      const only400 = declaredStatuses.includes('400') && !declaredStatuses.includes('422');
      return malformed || only400
        ? error(400, 'bad_request', message)
        : error(422, 'unprocessable_entity', message);
    },
    notFound: (message) => error(404, 'not_found', message),
    throttled: (retryAfterSeconds) =>
      error(429, 'too_many_requests', 'API rate limit exceeded.', {
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': '0',
        'ratelimit-reset': String(nowSeconds() + retryAfterSeconds),
      }),
    serverError: (status) =>
      status === 503
        ? error(503, 'service_unavailable', 'The service is temporarily unavailable.')
        : error(500, 'server_error', 'Unexpected server-side error'),
    everyResponse() {
      remaining = Math.max(0, remaining - 1);
      return {
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': String(remaining),
        'ratelimit-reset': String(resetAt),
      };
    },
  };
}

/** Equinix Metal (Packet): `{"errors": [...]}` bodies, 422 for a body against the schema. */
export function equinixMetalShape(): ProviderShape {
  const error = (status: number, message: string, headers?: Record<string, string>): FakeReply => ({
    status,
    body: { errors: [message] },
    ...(headers ? { headers } : {}),
  });
  return {
    name: 'equinix-metal',
    invalidRequest: ({ message, malformed }) => error(malformed ? 400 : 422, message),
    notFound: () => ({ status: 404, body: { error: 'Not found' } }),
    throttled: (retryAfterSeconds) =>
      error(429, 'Too many requests, please slow down', { 'Retry-After': String(retryAfterSeconds) }),
    serverError: (status) => error(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error'),
  };
}

/** Google APIs: `{error: {code, message, status, errors: [{domain, reason, message}]}}`. */
export function googleShape(): ProviderShape {
  const error = (
    code: number,
    status: string,
    reason: string,
    message: string,
    domain = 'global',
    headers?: Record<string, string>,
  ): FakeReply => ({
    status: code,
    body: { error: { code, message, status, errors: [{ domain, reason, message }] } },
    ...(headers ? { headers } : {}),
  });
  return {
    name: 'google',
    invalidRequest: ({ message, malformed }) =>
      error(400, 'INVALID_ARGUMENT', malformed ? 'parseError' : 'invalid', message),
    notFound: (message) => error(404, 'NOT_FOUND', 'notFound', message),
    throttled: () =>
      error(429, 'RESOURCE_EXHAUSTED', 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'),
    serverError: (status) =>
      status === 503
        ? error(503, 'UNAVAILABLE', 'backendError', 'The service is currently unavailable.')
        : error(500, 'INTERNAL', 'backendError', 'Internal error. Please try again.'),
  };
}

/** Azure Resource Manager: `{error: {code, message}}`, `x-ms-request-id` on every answer, Retry-After on 429/503. */
export function azureShape(): ProviderShape {
  const error = (
    status: number,
    code: string,
    message: string,
    headers?: Record<string, string>,
  ): FakeReply => ({
    status,
    body: { error: { code, message } },
    ...(headers ? { headers } : {}),
  });
  return {
    name: 'azure',
    invalidRequest: ({ message, malformed }) =>
      error(400, malformed ? 'InvalidRequestContent' : 'InvalidParameter', message),
    notFound: (message) => error(404, 'ResourceNotFound', message),
    throttled: (retryAfterSeconds) =>
      error(429, 'TooManyRequests', 'The request is being throttled.', {
        'Retry-After': String(retryAfterSeconds),
      }),
    serverError: (status) =>
      status === 503
        ? error(503, 'ServiceUnavailable', 'The service is temporarily unavailable.', { 'Retry-After': '1' })
        : error(500, 'InternalServerError', 'Encountered internal server error.'),
    everyResponse: () => ({ 'x-ms-request-id': randomUUID() }),
  };
}

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * AWS EC2 (the `ec2` protocol): `<Response><Errors><Error>…` XML; throttling is 503
 * `RequestLimitExceeded`.
 */
export function awsEc2Shape(): ProviderShape {
  const error = (status: number, code: string, message: string): FakeReply => ({
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code>` +
      `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`,
  });
  return {
    name: 'aws-ec2',
    invalidRequest: ({ message }) => error(400, 'InvalidParameterValue', message),
    notFound: (message) => error(400, 'InvalidAction', message),
    throttled: () => error(503, 'RequestLimitExceeded', 'Request limit exceeded.'),
    serverError: (status) =>
      status === 503
        ? error(503, 'Unavailable', 'The server is overloaded and cannot handle the request.')
        : error(500, 'InternalError', 'An internal error has occurred.'),
  };
}

/**
 * AWS query protocol services (IAM, STS): `<ErrorResponse><Error><Type>…` XML; throttling is 400
 * `Throttling` ("Rate exceeded"), as those services answer it.
 */
export function awsQueryShape(): ProviderShape {
  const error = (status: number, type: 'Sender' | 'Receiver', code: string, message: string): FakeReply => ({
    status,
    headers: { 'content-type': 'text/xml' },
    body:
      `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message>` +
      `</Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  });
  return {
    name: 'aws-query',
    invalidRequest: ({ message, malformed }) =>
      error(400, 'Sender', malformed ? 'MalformedInput' : 'ValidationError', message),
    notFound: (message) => error(400, 'Sender', 'InvalidAction', message),
    throttled: () => error(400, 'Sender', 'Throttling', 'Rate exceeded'),
    serverError: (status) =>
      status === 503
        ? error(503, 'Receiver', 'ServiceUnavailable', 'Service is unable to handle request.')
        : error(500, 'Receiver', 'InternalFailure', 'The request processing has failed.'),
  };
}

/** A neutral JSON shape for fakes of APIs with no provider of their own. */
export function plainJsonShape(): ProviderShape {
  const error = (status: number, message: string, headers?: Record<string, string>): FakeReply => ({
    status,
    body: { error: { status, message } },
    ...(headers ? { headers } : {}),
  });
  return {
    name: 'plain',
    invalidRequest: ({ message, malformed }) => error(malformed ? 400 : 422, message),
    notFound: (message) => error(404, message),
    throttled: (retryAfterSeconds) =>
      error(429, 'Too Many Requests', { 'Retry-After': String(retryAfterSeconds) }),
    serverError: (status) => error(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error'),
  };
}
