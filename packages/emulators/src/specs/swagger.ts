import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { describeAjvErrors } from './ajv-errors.js';
import {
  matchTemplate,
  type SpecOperation,
  type SpecValidator,
  statusDeclared,
  templateKey,
  templatePattern,
} from './validator.js';

interface SwaggerParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'body' | 'formData';
  required?: boolean;
  type?: string;
  pattern?: string;
  enum?: string[];
  $ref?: string;
  schema?: unknown;
}
interface SwaggerOperation {
  operationId?: string;
  parameters?: SwaggerParameter[];
  responses?: Record<string, { schema?: unknown; $ref?: string }>;
}
type SwaggerPathItem = Record<string, SwaggerOperation> & { parameters?: SwaggerParameter[] };
interface SwaggerDocument {
  paths?: Record<string, SwaggerPathItem>;
  'x-ms-paths'?: Record<string, SwaggerPathItem>;
  info?: { version?: string };
}

interface IndexedOperation {
  operation: SpecOperation;
  file: string;
  /** JSON pointer of the operation object in its file. */
  pointer: string;
  parameters: { parameter: SwaggerParameter; pointer: string; file: string }[];
  apiVersion: string;
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head'] as const;

/**
 * A validator over several Azure Resource Manager Swagger 2.0 files (one per resource provider, each
 * at one api-version). The SDKs send newer api-versions than the files hold, so a request is checked
 * against the file's version of its operation — the nearest one we have — and the version it sent is
 * only required to be present (ARM refuses a request without one). Every file and the files their
 * `$ref`s reach are added to ajv under their file URLs, so cross-file references resolve as written;
 * draft-4 boolean `exclusiveMinimum`/`exclusiveMaximum` and `x-nullable` are rewritten to what ajv
 * (draft-7) means by them. Operation ids are the specs' (`VirtualMachines_CreateOrUpdate`).
 */
export function loadSwaggerSpec(options: { name: string; files: readonly string[] }): SpecValidator {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    unicodeRegExp: false,
    validateFormats: false,
    validateSchema: false,
  });
  const documents = new Map<string, Record<string, unknown>>();
  const load = (file: string) => {
    if (documents.has(file)) return;
    const document = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
    delete document['x-ms-examples'];
    const referenced = new Set<string>();
    rewriteDraft4(document, (ref) => {
      const target = ref.split('#')[0];
      if (target) referenced.add(resolve(dirname(file), target));
    });
    documents.set(file, document);
    ajv.addSchema({ ...document, $id: pathToFileURL(file).href });
    for (const other of referenced) load(other);
  };
  for (const file of options.files) load(file);

  const resolveRef = (file: string, ref: string): { file: string; pointer: string; node: unknown } => {
    const [target, pointer = ''] = ref.split('#');
    const where = target ? resolve(dirname(file), target) : file;
    load(where);
    return { file: where, pointer, node: atPointer(documents.get(where), pointer) };
  };

  const byId = new Map<string, IndexedOperation>();
  const byTemplate = new Map<string, SpecOperation>();
  for (const file of options.files) {
    const document = documents.get(file) as SwaggerDocument;
    const apiVersion = document.info?.version ?? '?';
    for (const section of ['paths', 'x-ms-paths'] as const)
      for (const [pathTemplate, item] of Object.entries(document[section] ?? {})) {
        for (const method of methods) {
          const op = item[method];
          if (!op?.operationId) continue;
          const pointer = `/${section}/${escapePointer(pathTemplate)}/${method}`;
          const parameters: IndexedOperation['parameters'] = [];
          const collect = (list: SwaggerParameter[] | undefined, base: string) =>
            (list ?? []).forEach((parameter, i) => {
              if (parameter.$ref) {
                const found = resolveRef(file, parameter.$ref);
                parameters.push({
                  parameter: found.node as SwaggerParameter,
                  pointer: found.pointer,
                  file: found.file,
                });
              } else parameters.push({ parameter, pointer: `${base}/parameters/${i}`, file });
            });
          collect(item.parameters, `/${section}/${escapePointer(pathTemplate)}`);
          collect(op.parameters, pointer);
          const operation: SpecOperation = {
            operationId: op.operationId,
            method: method.toUpperCase(),
            // x-ms-paths may carry a query string to tell overloads apart; the route is the path
            pathTemplate: pathTemplate.split('?')[0]!,
            statuses: Object.keys(op.responses ?? {}),
          };
          byId.set(op.operationId, { operation, file, pointer, parameters, apiVersion });
          byTemplate.set(templateKey(operation.method, operation.pathTemplate), operation);
        }
      }
  }

  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (file: string, pointer: string): ValidateFunction => {
    const key = `${file}#${pointer}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile({ $ref: `${pathToFileURL(file).href}#${pointer}` });
      compiled.set(key, validate);
    }
    return validate;
  };

  return {
    name: options.name,
    source: options.files.join(', '),
    basePath: '',
    operation: (operationId) => byId.get(operationId)?.operation,
    operationAt: (method, pathTemplate) => byTemplate.get(templateKey(method, pathTemplate)),
    validateRequest(operationId, request) {
      const indexed = byId.get(operationId);
      if (!indexed) return [`${operationId} is not an operation of the ${options.name} spec`];
      const problems: string[] = [];
      const pathParams = matchTemplate(templatePattern(indexed.operation.pathTemplate), request.path) ?? {};
      const query = new URLSearchParams(request.query);
      for (const { parameter, pointer, file } of indexed.parameters) {
        const value =
          parameter.in === 'path'
            ? pathParams[parameter.name]
            : parameter.in === 'query'
              ? (query.get(parameter.name) ?? undefined)
              : parameter.in === 'header'
                ? headerValue(request.headers, parameter.name)
                : undefined;
        if (parameter.in === 'body') {
          if (request.body === undefined) {
            if (parameter.required) problems.push(`/requestBody: a request body is required`);
            continue;
          }
          const validate = validatorAt(file, `${pointer}/schema`);
          if (!validate(request.body)) problems.push(...describeAjvErrors(validate.errors, '/requestBody'));
          continue;
        }
        if (value === undefined) {
          if (parameter.required) problems.push(`${parameter.in} parameter ${parameter.name} is required`);
          continue;
        }
        // api-version: any is accepted (see above); the SDKs' are newer than the files'
        if (parameter.name === 'api-version') continue;
        if (parameter.pattern && !new RegExp(parameter.pattern, 'u').test(value))
          problems.push(
            `${parameter.in} parameter ${parameter.name}: ${value} does not match ${parameter.pattern}`,
          );
        if (parameter.enum && !parameter.enum.includes(value))
          problems.push(
            `${parameter.in} parameter ${parameter.name}: ${value} is not one of ${parameter.enum.join(', ')}`,
          );
      }
      return problems;
    },
    validateResponse(operationId, response) {
      const indexed = byId.get(operationId);
      if (!indexed) return [`${operationId} is not an operation of the ${options.name} spec`];
      const { statuses } = indexed.operation;
      if (!statusDeclared(statuses, response.status))
        return [`status ${response.status} is not one the spec declares (${statuses.join(', ')})`];
      const status = statuses.includes(String(response.status)) ? String(response.status) : 'default';
      const operation = atPointer(documents.get(indexed.file), indexed.pointer) as SwaggerOperation;
      const declared = operation.responses?.[status];
      if (!declared?.schema) return [];
      if (response.body === undefined) return [`status ${status} declares a body and none was sent`];
      const validate = validatorAt(
        indexed.file,
        `${indexed.pointer}/responses/${escapePointer(status)}/schema`,
      );
      return validate(response.body) ? [] : describeAjvErrors(validate.errors);
    },
  };
}

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function atPointer(document: unknown, pointer: string): unknown {
  let node = document;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown> | undefined)?.[segment];
  }
  return node;
}

/** Rewrites draft-4/Swagger keywords ajv reads differently, in place, and reports every `$ref`. */
function rewriteDraft4(node: unknown, onRef: (ref: string) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteDraft4(item, onRef);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (typeof record.$ref === 'string') onRef(record.$ref);
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof record[bound] !== 'boolean') continue;
    if (record[bound] === true && typeof record[limit] === 'number') {
      record[bound] = record[limit];
      delete record[limit];
    } else delete record[bound];
  }
  if (record['x-nullable'] === true && typeof record.type === 'string') record.type = [record.type, 'null'];
  for (const [key, value] of Object.entries(record)) if (key !== 'x-ms-examples') rewriteDraft4(value, onRef);
}
