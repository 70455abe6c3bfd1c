import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { describeAjvErrors } from './ajv-errors.js';
import {
  matchTemplate,
  type SpecOperation,
  type SpecValidator,
  templateKey,
  templatePattern,
} from './validator.js';

/** A Google Discovery document's parts the validator reads. */
interface DiscoveryParameter {
  location?: 'path' | 'query';
  type?: string;
  required?: boolean;
  pattern?: string;
  enum?: string[];
  repeated?: boolean;
}
interface DiscoveryMethod {
  id: string;
  httpMethod: string;
  path: string;
  parameters?: Record<string, DiscoveryParameter>;
  request?: { $ref: string };
  response?: { $ref: string };
  mediaUpload?: { protocols?: { simple?: { path: string } } };
}
interface DiscoveryResource {
  methods?: Record<string, DiscoveryMethod>;
  resources?: Record<string, DiscoveryResource>;
}
interface DiscoveryDocument extends DiscoveryResource {
  name: string;
  servicePath: string;
  parameters?: Record<string, DiscoveryParameter>;
  schemas: Record<string, unknown>;
}

/** Google's error envelope: what every non-2xx answer of a Google API is. */
const googleErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'integer' },
        message: { type: 'string' },
        status: { type: 'string' },
        errors: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              domain: { type: 'string' },
              reason: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
      },
    },
  },
};

/** What a fake serving more than the plain JSON methods (media uploads) needs besides SpecValidator. */
export interface DiscoveryValidator extends SpecValidator {
  /** The method's path and query parameters only (a media upload's body is the media). */
  validateParameters(operationId: string, path: string, query: string): string[];
  /** A value against one of the document's schemas (`Object`, `Instance`…); `where` prefixes the lines. */
  validateSchema(schema: string, value: unknown, where?: string): string[];
  /** The absolute path of the method's simple media upload (`/upload/storage/v1/b/{bucket}/o`), if it has one. */
  mediaUploadPath(operationId: string): string | undefined;
}

export function isDiscoveryValidator(spec: SpecValidator | undefined): spec is DiscoveryValidator {
  return spec !== undefined && 'validateSchema' in spec;
}

const loaded = new Map<string, DiscoveryValidator>();

/**
 * A validator for a Google Discovery document (Compute Engine, Cloud Storage), by the recipe of
 * ../shared/specs/README.md: bare `$ref`s become JSON Schema references, `format`, `annotations` and
 * `type: any` go, and ajv compiles a schema on its first use. Requests are also checked for the
 * method's path and query parameters (required, pattern, enum, unknown names) and for the body fields
 * the method requires (`annotations.required`); non-2xx answers are checked against Google's error
 * envelope. Operation ids are the methods' ids, e.g. `compute.instances.insert`.
 */
export function loadDiscoverySpec(options: { name: string; file: string }): DiscoveryValidator {
  const cached = loaded.get(options.file);
  if (cached) return cached;
  const document = JSON.parse(readFileSync(options.file, 'utf8')) as DiscoveryDocument;
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, validateFormats: false });
  ajv.addSchema({
    $id: 'discovery',
    definitions: Object.fromEntries(
      Object.entries(document.schemas).map(([name, schema]) => [
        name,
        convertSchema(schema as Record<string, unknown>),
      ]),
    ),
  });
  ajv.addSchema(googleErrorSchema, 'google-error');

  const methods = new Map<string, DiscoveryMethod>();
  const byTemplate = new Map<string, SpecOperation>();
  const operations = new Map<string, SpecOperation>();
  const collect = (resource: DiscoveryResource) => {
    for (const method of Object.values(resource.methods ?? {})) {
      const operation: SpecOperation = {
        operationId: method.id,
        method: method.httpMethod.toUpperCase(),
        pathTemplate: `/${method.path}`,
        statuses: ['default'],
      };
      methods.set(method.id, method);
      operations.set(method.id, operation);
      byTemplate.set(templateKey(operation.method, operation.pathTemplate), operation);
    }
    for (const child of Object.values(resource.resources ?? {})) collect(child);
  };
  collect(document);

  const requiredFields = requiredFieldsByMethod(document.schemas);
  const bodyValidators = new Map<string, ValidateFunction>();
  const bodyValidator = (method: DiscoveryMethod, ref: string): ValidateFunction => {
    let validate = bodyValidators.get(method.id);
    if (!validate) {
      const required = requiredFields.get(`${ref}\0${method.id}`) ?? [];
      validate = ajv.compile({ allOf: [{ $ref: `discovery#/definitions/${ref}` }, { required }] });
      bodyValidators.set(method.id, validate);
    }
    return validate;
  };
  const globalParameters = document.parameters ?? {};

  const validator: DiscoveryValidator = {
    name: options.name,
    source: options.file,
    basePath: `/${document.servicePath}`.replace(/\/+$/, ''),
    operation: (operationId) => operations.get(operationId),
    operationAt: (method, pathTemplate) => byTemplate.get(templateKey(method, pathTemplate)),
    validateRequest(operationId, request) {
      const method = methods.get(operationId);
      if (!method) return [`${operationId} is not a method of the ${options.name} discovery document`];
      const problems = checkParameters(
        method,
        globalParameters,
        request.path,
        new URLSearchParams(request.query),
      );
      if (method.request) {
        if (request.body === undefined) problems.push('/requestBody: a request body is required');
        else {
          const validate = bodyValidator(method, method.request.$ref);
          if (!validate(request.body)) problems.push(...describeAjvErrors(validate.errors, '/requestBody'));
        }
      }
      return problems;
    },
    validateResponse(operationId, response) {
      const method = methods.get(operationId);
      if (!method) return [`${operationId} is not a method of the ${options.name} discovery document`];
      let validate: ValidateFunction | undefined;
      if (response.status >= 400) validate = ajv.getSchema('google-error');
      else if (method.response) validate = ajv.getSchema(`discovery#/definitions/${method.response.$ref}`);
      if (!validate || validate(response.body)) return [];
      return describeAjvErrors(validate.errors);
    },
    validateParameters(operationId, path, query) {
      const method = methods.get(operationId);
      if (!method) return [`${operationId} is not a method of the ${options.name} discovery document`];
      return checkParameters(method, globalParameters, path, new URLSearchParams(query));
    },
    validateSchema(schema, value, where = '') {
      const validate = ajv.getSchema(`discovery#/definitions/${schema}`);
      if (!validate)
        return [`${where || '/'}: ${schema} is not a schema of the ${options.name} discovery document`];
      return validate(value) ? [] : describeAjvErrors(validate.errors, where);
    },
    mediaUploadPath: (operationId) => methods.get(operationId)?.mediaUpload?.protocols?.simple?.path,
  };
  loaded.set(options.file, validator);
  return validator;
}

/** Discovery's schema dialect as JSON Schema (property names are left alone: `id` is often one). */
function convertSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    switch (keyword) {
      case 'id':
      case 'format':
      case 'annotations':
        break;
      case 'type':
        if (value !== 'any') out.type = value;
        break;
      case '$ref':
        out.$ref = `#/definitions/${value}`;
        break;
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, Record<string, unknown>>).map(([name, property]) => [
            name,
            convertSchema(property),
          ]),
        );
        break;
      case 'items':
      case 'additionalProperties':
        out[keyword] =
          typeof value === 'object' && value !== null
            ? convertSchema(value as Record<string, unknown>)
            : value;
        break;
      default:
        out[keyword] = value;
    }
  }
  return out;
}

/** `Schema\0method id` → the schema's properties that method requires (Discovery's `annotations.required`). */
function requiredFieldsByMethod(schemas: Record<string, unknown>): Map<string, string[]> {
  const required = new Map<string, string[]>();
  for (const [name, schema] of Object.entries(schemas)) {
    const properties = (schema as { properties?: Record<string, { annotations?: { required?: string[] } }> })
      .properties;
    for (const [property, definition] of Object.entries(properties ?? {}))
      for (const methodId of definition.annotations?.required ?? []) {
        const key = `${name}\0${methodId}`;
        required.set(key, [...(required.get(key) ?? []), property]);
      }
  }
  return required;
}

function checkParameters(
  method: DiscoveryMethod,
  globalParameters: Record<string, DiscoveryParameter>,
  path: string,
  query: URLSearchParams,
): string[] {
  const problems: string[] = [];
  const parameters = method.parameters ?? {};
  const pathValues = matchPath(method.path, path);
  for (const [name, parameter] of Object.entries(parameters)) {
    const values =
      parameter.location === 'path' ? [pathValues[name]].filter((v) => v !== undefined) : query.getAll(name);
    if (values.length === 0) {
      if (parameter.required) problems.push(`/${parameter.location}/${name}: is required`);
      continue;
    }
    if (values.length > 1 && !parameter.repeated)
      problems.push(`/query/${name}: is not a repeated parameter`);
    for (const value of values)
      problems.push(...checkValue(`/${parameter.location}/${name}`, parameter, value));
  }
  for (const name of new Set(query.keys()))
    if (!(name in parameters) && !(name in globalParameters))
      problems.push(`/query: unknown parameter ${name} (Cannot bind query parameter)`);
  return problems;
}

function checkValue(where: string, parameter: DiscoveryParameter, value: string): string[] {
  if (parameter.pattern && !new RegExp(`^(?:${parameter.pattern})$`).test(value))
    return [`${where}: ${value} does not match ${parameter.pattern}`];
  if (parameter.enum && !parameter.enum.includes(value))
    return [`${where}: must be one of ${parameter.enum.join(', ')}`];
  if (parameter.type === 'integer' && !/^-?\d+$/.test(value)) return [`${where}: must be an integer`];
  if (parameter.type === 'boolean' && value !== 'true' && value !== 'false')
    return [`${where}: must be a boolean`];
  return [];
}

/** The path parameters of `path` by the method's template. */
function matchPath(template: string, path: string): Record<string, string> {
  return matchTemplate(templatePattern(`/${template}`), path) ?? {};
}
