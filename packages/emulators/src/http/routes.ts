import type { IncomingHttpHeaders } from 'node:http';
import { matchTemplate, templatePattern } from '../specs/validator.js';
import type { ProviderShape } from './providers.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `/v2/droplets/{id}/actions/{action_id}` → `{ id: string; action_id: string }` (`{+name}` spans slashes). */
export type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? { [K in Name extends `+${infer Reserved}` ? Reserved : Name]: string } & PathParams<Rest>
  : {};

/** What a fake answers: JSON when `body` is an object, array, number or boolean; text or bytes as they are. */
export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface RouteContext<Params = Record<string, string>> {
  method: HttpMethod;
  /** The path under the API's base path, as the spec writes it (no query string). */
  path: string;
  params: Params;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when the request had none or it was not JSON. */
  body: unknown;
  /** The body's bytes (empty for a route with `streamBody`: it reads `bodyStream` instead). */
  rawBody: Buffer;
  /** A `streamBody` route's request body, unread (uploads of any size); undefined for other routes. */
  bodyStream: AsyncIterable<Buffer> | undefined;
  operationId: string;
  /** The API's own address (origin plus base path), for links and `Location` headers. */
  baseUrl: string;
  /** The provider's error shapes, for the handler's own errors (not found, conflict…). */
  provider: ProviderShape;
  /** Aborted when the client goes away or the fake closes. */
  signal: AbortSignal;
}

export type RouteHandler<Params> = (ctx: RouteContext<Params>) => FakeReply | Promise<FakeReply>;

export interface Route {
  method: HttpMethod;
  path: string;
  /** The spec's operation id; looked up from method and path when the fake has a spec. */
  operationId: string | undefined;
  /** The handler reads the body itself from `ctx.bodyStream` (no size limit, no JSON parsing). */
  streamBody?: boolean;
  /**
   * The provider serves it but its spec does not describe it (Azure's operation-status URLs, its token
   * endpoint): neither looked up nor validated.
   */
  outsideSpec?: boolean;
  handler: RouteHandler<Record<string, string>>;
}

/** One route; the path template types the handler's `params`. */
export function route<P extends string>(
  method: HttpMethod,
  path: P,
  handler: RouteHandler<PathParams<P>>,
  options: { operationId?: string; streamBody?: boolean; outsideSpec?: boolean } = {},
): Route {
  return {
    method,
    path,
    operationId: options.operationId,
    ...(options.streamBody ? { streamBody: true } : {}),
    ...(options.outsideSpec ? { outsideSpec: true } : {}),
    handler: handler as RouteHandler<Record<string, string>>,
  };
}

/** A JSON (or text) reply. */
export function reply(status: number, body?: unknown, headers?: Record<string, string>): FakeReply {
  return headers ? { status, body, headers } : { status, body };
}

export interface CompiledRoute {
  route: Route;
  operationId: string;
  match(path: string): Record<string, string> | undefined;
}

export function compileRoute(route: Route, operationId: string): CompiledRoute {
  const pattern = templatePattern(route.path);
  return { route, operationId, match: (path) => matchTemplate(pattern, path) };
}
