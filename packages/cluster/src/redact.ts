/**
 * Secret redaction shared by every log sink and report. Credential readers register the secret values
 * they load; `redact()` replaces them, and well-known secret shapes, with `[REDACTED]`.
 */
const secrets = new Set<string>();

/** Remember a secret value so every later `redact()` hides it. Short values are ignored (too many false hits). */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secrets.add(value);
}

const secretShapes: RegExp[] = [
  // PEM private keys
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  // key=value and "key": "value" pairs whose key names a secret
  /((?:secret|password|passwd|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|authorization)["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|token)\s+)?)([^\s"',}]+)/gi,
  // bearer tokens outside key=value pairs
  /(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g,
];

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[REDACTED]');
  out = out.replace(secretShapes[0]!, '[REDACTED PRIVATE KEY]');
  out = out.replace(secretShapes[1]!, (_m, key: string) => `${key}[REDACTED]`);
  out = out.replace(secretShapes[2]!, (_m, prefix: string) => `${prefix}[REDACTED]`);
  return out;
}

/** Deep-redacts strings inside a JSON-like value (for properties.json and JSON logs). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactValue) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        /secret|password|token|apikey|api_key|private/i.test(k) && typeof v === 'string' && v
          ? '[REDACTED]'
          : redactValue(v);
    }
    return out as T;
  }
  return value;
}
