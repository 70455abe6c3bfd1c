import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '@mantle/cluster';
import { createFaultInjector, type FaultKind, type FaultOptions } from '../faults/faults.js';
import { loadSpec } from '../specs/catalog.js';
import type { KnownSpec } from '../specs/locate.js';
import { type SpecOperation, type SpecValidator, templateKey } from '../specs/validator.js';
import { FakeReplyError, FakeRequestError } from './errors.js';
import { type ProviderShape, plainJsonShape } from './providers.js';
import { createRequestLog, type LoggedRequest, type RequestLog } from './request-log.js';
import { type CompiledRoute, compileRoute, type FakeReply, type HttpMethod, type Route } from './routes.js';
import { describeViolation, type Violation } from './violations.js';

export interface FakeApiOptions {
  /** For messages: `digitalocean`, `gce`… */
  name: string;
  /** Checks every request accepted and every response sent: a loaded validator, or a spec the kit knows. */
  spec?: SpecValidator | KnownSpec;
  /** The provider's error shapes (default: a neutral JSON one). */
  provider?: ProviderShape;
  routes: readonly Route[];
  faults?: FaultOptions;
  /** Where violations, route failures and "validation is off" go; stderr by default. */
  log?: (line: string) => void;
  /** The prefix every path is under (default: the spec's server path, e.g. `/metal/v1`). */
  basePath?: string;
  /** Default: a free port. */
  port?: number;
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP: Azure's SDKs send tokens only over TLS. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Largest request body read (default 16 MiB). */
  maxBodyBytes?: number;
  /** Closes the fake when aborted. */
  signal?: AbortSignal;
  /**
   * Runs before faults, validation and the route (as a provider checks credentials first): a reply
   * refuses the request (Google's 401), undefined lets it through.
   */
  authenticate?: (request: AuthenticationRequest) => FakeReply | undefined;
}

export interface AuthenticationRequest {
  method: string;
  /** Under the base path. */
  path: string;
  operationId: string;
  headers: IncomingMessage['headers'];
}

export interface FakeApi extends AsyncDisposable {
  readonly name: string;
  /** `http(s)://127.0.0.1:<port>` plus the base path: what a client's endpoint setting gets. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  /** The spec requests and responses are checked against; undefined when validation is off. */
  readonly spec: SpecValidator | undefined;
  readonly requests: RequestLog;
  /** Every violation recorded since the last takeViolations(). */
  violations(): readonly Violation[];
  /** The violations recorded so far, which are then forgotten. */
  takeViolations(): Violation[];
  /** How many faults of each kind were injected. */
  faultsInjected(): Map<FaultKind, number>;
  close(): Promise<void>;
}

const unrouted = '(unrouted)';

/** An HTTP fake of one provider's API on 127.0.0.1. */
export async function createFakeApi(options: FakeApiOptions): Promise<FakeApi> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const spec = typeof options.spec === 'string' ? await loadSpec(options.spec, { log }) : options.spec;
  const provider = options.provider ?? plainJsonShape();
  const basePath = (options.basePath ?? spec?.basePath ?? '').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const routes = compileRoutes(options.name, options.routes, spec);
  const faults = options.faults ? createFaultInjector(options.faults) : undefined;
  const requests = createRequestLog();
  let violations: Violation[] = [];
  let origin = '';
  const closing = new AbortController();
  const record = (violation: Violation) => {
    violations.push(violation);
    log(`${options.name}: ${describeViolation(violation)}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = underBasePath(url.pathname, basePath);
    const found = path === undefined ? undefined : findRoute(routes, method, path);
    const entry = requests.add({
      operationId: found?.compiled.operationId ?? unrouted,
      method,
      path: url.pathname,
      status: undefined,
      arrivedAt: performance.now(),
    });
    const streamed = found?.compiled.route.streamBody === true;
    const rawBody = streamed ? Buffer.alloc(0) : await readBody(req, maxBodyBytes);
    const send = (reply: FakeReply, operation?: SpecOperation) =>
      sendReply(res, entry, reply, provider, (sent) => {
        if (!spec || !operation) return;
        const problems = spec.validateResponse(operation.operationId, sent);
        if (problems.length)
          record({
            kind: 'response',
            operationId: entry.operationId,
            method,
            path: entry.path,
            status: sent.status,
            problems,
          });
      });

    if (!found || path === undefined) {
      log(`${options.name}: no route for ${method} ${url.pathname}`);
      return send(provider.notFound(`${method} ${url.pathname} is not a route of this API`));
    }
    if (rawBody === 'too large')
      return send({ status: 413, body: { message: `request body over ${maxBodyBytes} bytes` } });
    const { compiled, params } = found;
    const operation = compiled.specOperation;
    const refused = options.authenticate?.({
      method,
      path,
      operationId: compiled.operationId,
      headers: req.headers,
    });
    if (refused) return send(refused, operation);
    const declaredStatuses = operation?.statuses ?? [];
    const refuse = (problems: string[], malformed: boolean) => {
      const reply = provider.invalidRequest({ message: problems.join('; '), malformed, declaredStatuses });
      record({
        kind: 'request',
        operationId: entry.operationId,
        method,
        path: entry.path,
        status: reply.status,
        problems,
      });
      return send(reply, operation);
    };

    const fault = faults?.decide(compiled.operationId);
    if (fault) {
      entry.fault = fault.kind;
      switch (fault.kind) {
        case 'drop':
          req.socket.destroy();
          return;
        case 'throttle':
          return send(provider.throttled(fault.retryAfterSeconds));
        case 'server-error':
          return send(provider.serverError(fault.status));
        case 'latency':
          await sleep(fault.ms, undefined, { signal: closing.signal }).catch(() => {});
          break;
      }
    }

    const parsed = parseJsonBody(req, rawBody);
    if (parsed === malformedJson) return refuse(['the request body is not valid JSON'], true);
    if (spec && operation) {
      const problems = spec.validateRequest(operation.operationId, {
        method,
        path,
        query: url.search.slice(1),
        headers: req.headers,
        body: parsed,
      });
      if (problems.length) return refuse(problems, false);
    }

    const clientGone = new AbortController();
    res.on('close', () => clientGone.abort());
    try {
      const reply = await compiled.route.handler({
        method: method as HttpMethod,
        path,
        params,
        query: url.searchParams,
        headers: req.headers,
        body: parsed,
        rawBody,
        bodyStream: streamed ? (req as AsyncIterable<Buffer>) : undefined,
        operationId: compiled.operationId,
        baseUrl: `${origin}${basePath}`,
        provider,
        signal: AbortSignal.any([clientGone.signal, closing.signal]),
      });
      return send(reply, operation);
    } catch (error) {
      if (error instanceof FakeReplyError) return send(error.reply, operation);
      if (error instanceof FakeRequestError) return refuse([error.message], false);
      const reply = provider.serverError(500);
      record({
        kind: 'handler',
        operationId: entry.operationId,
        method,
        path: entry.path,
        status: reply.status,
        problems: [error instanceof Error ? (error.stack ?? error.message) : String(error)],
      });
      return send(reply);
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error) => {
      log(`${options.name}: failed to answer ${req.method} ${req.url}: ${error}`);
      res.destroy();
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      closing.abort();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  if (options.signal?.aborted) await close();

  return {
    name: options.name,
    url: `${origin}${basePath}`,
    origin,
    port,
    spec,
    requests,
    violations: () => violations,
    takeViolations() {
      const taken = violations;
      violations = [];
      return taken;
    },
    faultsInjected: () => faults?.injected() ?? new Map(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface FakeRoute extends CompiledRoute {
  specOperation: SpecOperation | undefined;
}

/**
 * Each route gets its operation id (its own, else `METHOD /template`, so that request counts are keyed
 * the same with or without a spec) and, with a spec, the spec's operation: a route the spec does not
 * have is a mistake in the fake, refused here.
 */
function compileRoutes(name: string, routes: readonly Route[], spec: SpecValidator | undefined): FakeRoute[] {
  const seen = new Set<string>();
  return routes.map((route) => {
    const key = templateKey(route.method, route.path);
    if (seen.has(key)) throw new ConfigError(`${name}: two routes for ${route.method} ${route.path}`);
    seen.add(key);
    const operationId = route.operationId ?? `${route.method} ${route.path}`;
    let specOperation: SpecOperation | undefined;
    if (spec && !route.outsideSpec) {
      specOperation = route.operationId
        ? spec.operation(route.operationId)
        : spec.operationAt(route.method, route.path);
      if (!specOperation)
        throw new ConfigError(
          `${name}: the ${spec.name} spec has no operation ${route.operationId ?? `at ${route.method} ${route.path}`}`,
        );
      if (templateKey(specOperation.method, specOperation.pathTemplate) !== key)
        throw new ConfigError(
          `${name}: route ${route.method} ${route.path} is not where the ${spec.name} spec puts ` +
            `${specOperation.operationId} (${specOperation.method} ${specOperation.pathTemplate})`,
        );
    }
    return { ...compileRoute(route, operationId), specOperation };
  });
}

function underBasePath(pathname: string, basePath: string): string | undefined {
  if (!basePath) return pathname;
  if (pathname === basePath) return '/';
  return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
}

function findRoute(routes: FakeRoute[], method: string, path: string) {
  for (const compiled of routes) {
    if (compiled.route.method !== method) continue;
    const params = compiled.match(path);
    if (params) return { compiled, params };
  }
  return undefined;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'too large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const malformedJson = Symbol('malformed JSON');

function parseJsonBody(req: IncomingMessage, raw: Buffer): unknown {
  if (raw.length === 0 || !/[/+]json\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return malformedJson;
  }
}

/** Writes the reply (with the provider's per-response headers) and hands what was sent to `check`. */
function sendReply(
  res: ServerResponse,
  entry: LoggedRequest,
  reply: FakeReply,
  provider: ProviderShape,
  check: (sent: { status: number; headers: Record<string, string>; body: unknown }) => void,
): void {
  const headers: Record<string, string> = { ...provider.everyResponse?.(), ...lowerCaseKeys(reply.headers) };
  let payload: Buffer | undefined;
  let sentBody: unknown;
  const { body } = reply;
  if (body === undefined) {
    payload = undefined;
  } else if (Buffer.isBuffer(body)) {
    headers['content-type'] ??= 'application/octet-stream';
    payload = body;
  } else if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    payload = Buffer.from(body);
    if (/[/+]json\b/.test(headers['content-type'])) sentBody = JSON.parse(body);
  } else {
    headers['content-type'] ??= 'application/json; charset=utf-8';
    const text = JSON.stringify(body);
    payload = Buffer.from(text);
    sentBody = JSON.parse(text);
  }
  headers['content-length'] = String(payload?.length ?? 0);
  entry.status = reply.status;
  entry.answeredAt = performance.now();
  check({ status: reply.status, headers, body: sentBody });
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}
