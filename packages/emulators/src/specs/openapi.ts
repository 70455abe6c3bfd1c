import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kolaCacheDir } from '@mantle/cluster';
import { OpenAPIBackend } from 'openapi-backend';
import { parse as parseYaml } from 'yaml';
import { describeAjvErrors } from './ajv-errors.js';
import { type SpecOperation, type SpecValidator, statusDeclared, templateKey } from './validator.js';

export interface OpenApiSpecOptions {
  /** Short name for messages, e.g. `digitalocean`. */
  name: string;
  /** An OpenAPI 3 document, YAML or JSON. */
  file: string;
  /**
   * Rewrites the parsed document in place before it is loaded (for upstream defects ajv rejects). Its
   * `version` is part of the disk cache's key: change it when the rewrite changes.
   */
  preprocess?: { version: number; apply(document: Record<string, unknown>): void };
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Loaded specs, one per file and process: loading and indexing one is the slow part. */
const loaded = new Map<string, Promise<SpecValidator>>();

/**
 * An OpenAPI 3 validator, with openapi-backend as ../shared/specs/README.md says: `quick` (validators
 * compile per operation on first use, since compiling all of them up front takes minutes) and
 * non-strict ajv (the providers' patterns and formats are not all ajv-clean). Loaded once per process.
 */
export function loadOpenApiSpec(options: OpenApiSpecOptions): Promise<SpecValidator> {
  let spec = loaded.get(options.file);
  if (!spec) {
    spec = buildOpenApiSpec(options);
    loaded.set(options.file, spec);
    spec.catch(() => loaded.delete(options.file));
  }
  return spec;
}

async function buildOpenApiSpec(options: OpenApiSpecOptions): Promise<SpecValidator> {
  const document = readDocument(options);
  const backend = new OpenAPIBackend({
    definition: document as never,
    quick: true,
    strict: false,
    ajvOpts: { unicodeRegExp: false, strict: false, validateFormats: false },
  });
  await backend.init();

  const byId = new Map<string, SpecOperation>();
  const byTemplate = new Map<string, SpecOperation>();
  const paths = (document.paths ?? {}) as Record<
    string,
    Record<string, { operationId?: string; responses?: object }>
  >;
  for (const [pathTemplate, item] of Object.entries(paths))
    for (const method of methods) {
      const op = item[method];
      if (!op?.operationId) continue;
      const operation: SpecOperation = {
        operationId: op.operationId,
        method: method.toUpperCase(),
        pathTemplate,
        statuses: Object.keys(op.responses ?? {}),
      };
      byId.set(op.operationId, operation);
      byTemplate.set(templateKey(operation.method, pathTemplate), operation);
    }

  const servers = (document.servers ?? []) as { url?: string }[];
  const basePath = servers[0]?.url ? new URL(servers[0].url, 'http://x').pathname.replace(/\/+$/, '') : '';

  return {
    name: options.name,
    source: options.file,
    basePath,
    operation: (operationId) => byId.get(operationId),
    operationAt: (method, pathTemplate) => byTemplate.get(templateKey(method, pathTemplate)),
    validateRequest(operationId, request) {
      const result = backend.validateRequest(
        {
          method: request.method.toLowerCase(),
          path: request.path,
          query: request.query,
          headers: dropUndefined(request.headers),
          body: request.body,
        },
        operationId,
      );
      return result.valid ? [] : describeAjvErrors(result.errors);
    },
    validateResponse(operationId, response) {
      const operation = byId.get(operationId);
      if (!operation) return [`${operationId} is not an operation of the ${options.name} spec`];
      if (!statusDeclared(operation.statuses, response.status))
        return [`status ${response.status} is not one the spec declares (${operation.statuses.join(', ')})`];
      const body = response.status === 204 && response.body === undefined ? null : response.body;
      const result = backend.validateResponse(body, operationId, response.status);
      return result.valid ? [] : describeAjvErrors(result.errors);
    },
  };
}

function dropUndefined(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * The parsed (and preprocessed) document. YAML parsing of a large spec dominates its load, so the
 * result is kept as JSON under kola's cache, keyed by the file's content and the preprocessing.
 */
function readDocument(options: OpenApiSpecOptions): Record<string, unknown> {
  const text = readFileSync(options.file);
  const hash = createHash('sha256')
    .update(text)
    .update(`\0preprocess:${options.preprocess?.version ?? 0}`)
    .digest('hex')
    .slice(0, 24);
  const cacheDir = join(kolaCacheDir(), 'emulators', 'specs');
  const cached = join(cacheDir, `${options.name}-${hash}.json`);
  try {
    return JSON.parse(readFileSync(cached, 'utf8'));
  } catch {
    // not cached yet (or unreadable): parse the source
  }
  const document = (
    options.file.endsWith('.json') ? JSON.parse(text.toString('utf8')) : parseYaml(text.toString('utf8'))
  ) as Record<string, unknown>;
  options.preprocess?.apply(document);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(document));
    renameSync(partial, cached);
  } catch {
    // a read-only cache only costs the next process the parse
  }
  return document;
}

/**
 * Deletes `nullable: true` from schemas that have no `type`: OpenAPI 3.0 gives it no meaning there, and
 * ajv refuses it (DigitalOcean's spec has a few).
 */
export function dropUntypedNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropUntypedNullable(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (record.nullable === true && !('type' in record)) delete record.nullable;
  for (const value of Object.values(record)) dropUntypedNullable(value);
}
