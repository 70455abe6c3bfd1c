import { loadSpec } from '../specs/catalog.js';
import { type DiscoveryValidator, isDiscoveryValidator } from '../specs/discovery.js';
import {
  type SpecOperation,
  type SpecRequest,
  type SpecResponse,
  type SpecValidator,
  templateKey,
} from '../specs/validator.js';

/**
 * One validator for the emulator's one server: Compute (`/compute/v1/…`) and Cloud Storage
 * (`/storage/v1/…`) from their Discovery documents, the media upload of `storage.objects.insert`
 * at the path its document declares (`/upload/storage/v1/b/{bucket}/o`), and what no Discovery
 * document describes, checked by the protocol's own rules: the resumable session's PUT and DELETE,
 * and the OAuth token endpoint.
 */
export interface GcpSpec extends SpecValidator {
  /** An object resource (a multipart upload's metadata part) against the Storage `Object` schema. */
  objectMetadataProblems(value: unknown): string[];
}

export const resumableOperations = {
  chunk: 'storage.objects.insert.resumableChunk',
  cancel: 'storage.objects.insert.resumableCancel',
} as const;
export const tokenOperation = 'oauth2.token';

interface Part {
  validator: DiscoveryValidator;
  /** Where its methods' paths are, e.g. `/compute/v1`. */
  prefix: string;
}

const isJson = (headers: Record<string, string>) => /[/+]json\b/i.test(headers['content-type'] ?? '');

export async function loadGcpSpec(log?: (line: string) => void): Promise<GcpSpec | undefined> {
  const options = log ? { log } : {};
  const compute = await loadSpec('gcp-compute', options);
  const storage = await loadSpec('gcp-storage', options);
  if (!isDiscoveryValidator(compute) || !isDiscoveryValidator(storage)) return undefined;
  const parts: Part[] = [
    { validator: compute, prefix: compute.basePath },
    { validator: storage, prefix: storage.basePath },
  ];
  const uploadPath = storage.mediaUploadPath('storage.objects.insert');
  if (!uploadPath) throw new Error('the storage discovery document has no media upload for objects.insert');

  const extra = new Map<string, SpecOperation>([
    [
      'storage.objects.insert',
      {
        operationId: 'storage.objects.insert',
        method: 'POST',
        pathTemplate: uploadPath,
        statuses: ['default'],
      },
    ],
    [
      resumableOperations.chunk,
      {
        operationId: resumableOperations.chunk,
        method: 'PUT',
        pathTemplate: uploadPath,
        statuses: ['default'],
      },
    ],
    [
      resumableOperations.cancel,
      {
        operationId: resumableOperations.cancel,
        method: 'DELETE',
        pathTemplate: uploadPath,
        statuses: ['default'],
      },
    ],
    [
      tokenOperation,
      { operationId: tokenOperation, method: 'POST', pathTemplate: '/token', statuses: ['200', '400'] },
    ],
  ]);
  const partOf = new Map<string, Part>();
  const operations = new Map<string, SpecOperation>(extra);
  const byTemplate = new Map<string, SpecOperation>();
  for (const op of extra.values()) byTemplate.set(templateKey(op.method, op.pathTemplate), op);
  const document = (part: Part, id: string) => {
    const op = part.validator.operation(id);
    if (!op || operations.has(id)) return;
    const full = { ...op, pathTemplate: `${part.prefix}${op.pathTemplate}` };
    operations.set(id, full);
    partOf.set(id, part);
    byTemplate.set(templateKey(full.method, full.pathTemplate), full);
  };

  const uploadParameters = (request: SpecRequest, allowed: string[]) => {
    const query = new URLSearchParams(request.query);
    const problems: string[] = [];
    for (const name of allowed) query.delete(name);
    problems.push(
      ...storage.validateParameters(
        'storage.objects.insert',
        request.path.slice(uploadPath.indexOf('/b/')),
        query.toString(),
      ),
    );
    return problems;
  };

  const spec: GcpSpec = {
    name: 'gcp',
    source: `${compute.source}, ${storage.source}`,
    basePath: '',
    operation(operationId) {
      if (!operations.has(operationId)) for (const part of parts) document(part, operationId);
      return operations.get(operationId);
    },
    operationAt(method, pathTemplate) {
      const key = templateKey(method, pathTemplate);
      const known = byTemplate.get(key);
      if (known) return known;
      for (const part of parts) {
        if (!pathTemplate.startsWith(`${part.prefix}/`)) continue;
        const op = part.validator.operationAt(method, pathTemplate.slice(part.prefix.length));
        if (op) return spec.operation(op.operationId);
      }
      return undefined;
    },
    validateRequest(operationId, request) {
      const part = partOf.get(operationId);
      if (part)
        return part.validator.validateRequest(operationId, {
          ...request,
          path: request.path.slice(part.prefix.length),
        });
      const query = new URLSearchParams(request.query);
      switch (operationId) {
        case 'storage.objects.insert': {
          const uploadType = query.get('uploadType');
          const problems = uploadParameters(request, []);
          if (!['media', 'multipart', 'resumable'].includes(uploadType ?? ''))
            problems.push(
              `/query/uploadType: must be media, multipart or resumable (upload paths), not ${uploadType ?? 'missing'}`,
            );
          if (uploadType === 'resumable' && request.body !== undefined)
            problems.push(...storage.validateSchema('Object', request.body, '/requestBody'));
          return problems;
        }
        case resumableOperations.chunk:
        case resumableOperations.cancel: {
          const problems = uploadParameters(request, ['upload_id']);
          if (!query.get('upload_id'))
            problems.push('/query/upload_id: is required (the session URI carries it)');
          if (query.get('uploadType') !== 'resumable') problems.push('/query/uploadType: must be resumable');
          if (operationId === resumableOperations.chunk) {
            const range = headerOf(request, 'content-range');
            if (range !== undefined && !/^bytes (\*|\d+-(\d+|\*))\/(\*|\d+)$/.test(range))
              problems.push(`/header/content-range: ${range} is not bytes a-b/N, bytes */N or bytes */*`);
          }
          return problems;
        }
        case tokenOperation: {
          const type = headerOf(request, 'content-type') ?? '';
          return /^application\/x-www-form-urlencoded\b/i.test(type)
            ? []
            : [
                `/header/content-type: the token endpoint takes a form (application/x-www-form-urlencoded), not ${type || 'none'}`,
              ];
        }
      }
      return [`${operationId} is not an operation of the gcp spec`];
    },
    validateResponse(operationId, response) {
      const part = partOf.get(operationId);
      // a media download (alt=media) is the object's bytes, not its resource
      if (operationId === 'storage.objects.get' && response.status < 300 && !isJson(response.headers))
        return [];
      if (part) return part.validator.validateResponse(operationId, response);
      return extraResponseProblems(operationId, response, storage);
    },
    objectMetadataProblems: (value) => storage.validateSchema('Object', value, '/requestBody'),
  };
  return spec;
}

function headerOf(request: SpecRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function extraResponseProblems(
  operationId: string,
  response: SpecResponse,
  storage: DiscoveryValidator,
): string[] {
  const { status, body } = response;
  if (operationId === tokenOperation) {
    if (status === 200) {
      const b = body as { access_token?: unknown; expires_in?: unknown; token_type?: unknown } | undefined;
      return typeof b?.access_token === 'string' &&
        typeof b.expires_in === 'number' &&
        b.token_type === 'Bearer'
        ? []
        : ['/: a token answer has access_token, expires_in and token_type Bearer'];
    }
    if (status === 400) {
      const b = body as { error?: unknown } | undefined;
      return typeof b?.error === 'string' ? [] : ['/: an OAuth error has an error code'];
    }
    // faults and auth use the API envelope; the token endpoint's 5xx are plain
    return [];
  }
  // the session start (200 with Location), 308 Resume Incomplete, 499 after a cancel: no body
  if (status === 308 || status === 499 || (status === 200 && response.headers.location && body === undefined))
    return [];
  if (status >= 400) return storage.validateResponse('storage.objects.get', response);
  return storage.validateSchema('Object', body);
}
