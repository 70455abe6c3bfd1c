import type { ErrorObject } from 'ajv';

/** ajv's errors as one line each, e.g. `/requestBody/size: must be string`; duplicates (from oneOf branches) once. */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, prefix = ''): string[] {
  const lines = (errors ?? []).map((e) => {
    const extra = (e.params ?? {}) as { additionalProperty?: string; allowedValues?: unknown[] };
    const detail = extra.additionalProperty
      ? ` (${extra.additionalProperty})`
      : extra.allowedValues
        ? ` (${extra.allowedValues.join(', ')})`
        : '';
    return `${prefix}${e.instancePath || (prefix ? '' : '/')}: ${e.message ?? e.keyword}${detail}`;
  });
  return [...new Set(lines)];
}
