/**
 * What the HTTP fakes need from a provider's API description. OpenAPI 3 (DigitalOcean, Equinix Metal)
 * is implemented in openapi.ts; a Google Discovery or Azure Swagger validator plugs in by implementing
 * the same interface.
 */
export interface SpecOperation {
  operationId: string;
  /** Upper case. */
  method: string;
  /** As the spec writes it, e.g. `/v2/droplets/{droplet_id}`. */
  pathTemplate: string;
  /** Declared response statuses: `200`, `4XX`, `default`… */
  statuses: readonly string[];
}

export interface SpecRequest {
  method: string;
  /** Under the API's base path, without the query string. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface SpecResponse {
  status: number;
  headers: Record<string, string>;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
}

export interface SpecValidator {
  /** Short name for messages, e.g. `digitalocean`. */
  readonly name: string;
  /** The file it was read from. */
  readonly source: string;
  /** The path prefix of the spec's server URL (`/metal/v1`), or `` when its paths are absolute. */
  readonly basePath: string;
  operation(operationId: string): SpecOperation | undefined;
  /** The operation at this method and path template, whatever its parameters are named. */
  operationAt(method: string, pathTemplate: string): SpecOperation | undefined;
  /** Problems with the request, one line each; empty when it conforms. */
  validateRequest(operationId: string, request: SpecRequest): string[];
  /** Problems with the response, one line each; empty when it conforms. */
  validateResponse(operationId: string, response: SpecResponse): string[];
}

/** Whether `status` is one the operation declares (exactly, by class like `4XX`, or through `default`). */
export function statusDeclared(statuses: readonly string[], status: number): boolean {
  return (
    statuses.includes(String(status)) ||
    statuses.includes(`${Math.floor(status / 100)}XX`) ||
    statuses.includes('default')
  );
}

/** Two templates name the same path when they differ only in their parameter names. */
export function templateKey(method: string, template: string): string {
  return `${method.toUpperCase()} ${template.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '')}`;
}

export interface TemplatePattern {
  regex: RegExp;
  names: string[];
}

/** A path template as a regex: `{name}` is one segment, `{+name}` (RFC 6570 reserved expansion) spans slashes. */
export function templatePattern(template: string): TemplatePattern {
  const names: string[] = [];
  const pattern = template
    .replace(/\/+$/, '')
    .split(/(\{\+?[^}]+\})/)
    .map((part) => {
      const param = /^\{(\+?)([^}]+)\}$/.exec(part);
      if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[2]!);
      return param[1] ? '(.+)' : '([^/]+)';
    })
    .join('');
  return { regex: new RegExp(`^${pattern}/?$`), names };
}

/** The parameters of `path` by the template, or undefined when it does not match. */
export function matchTemplate(
  { regex, names }: TemplatePattern,
  path: string,
): Record<string, string> | undefined {
  const found = regex.exec(path);
  if (!found) return undefined;
  const params: Record<string, string> = {};
  try {
    names.forEach((name, i) => {
      params[name] = decodeURIComponent(found[i + 1]!);
    });
  } catch {
    return undefined; // a malformed %-escape matches no route
  }
  return params;
}
