import { fail } from './errors.js';

/**
 * Compute Engine's list `filter`: `field op value` comparisons (`=`, `!=`, `>`, `<`, `>=`, `<=`, `:`
 * for "has" and `:*` for "is set", and the older `eq`/`ne` with an RE2 regex matched whole), joined
 * by `AND`, `OR` or plain juxtaposition of parenthesised terms (AND); `NOT` negates. Fields are dotted
 * paths into the resource as the API answers it (`labels.created-by`, `status`, `creationTimestamp`).
 */
export type Predicate = (resource: Record<string, unknown>) => boolean;

type Token = { kind: 'word' | 'string' | 'op' | '(' | ')'; text: string };

const invalid = (filter: string): never =>
  fail(400, 'invalid', `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`);

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c, text: c });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      while (j < filter.length && filter[j] !== c) {
        if (filter[j] === '\\' && j + 1 < filter.length) j++;
        text += filter[j];
        j++;
      }
      if (j >= filter.length) invalid(filter);
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else {
      const op = /^(!=|>=|<=|=|>|<|:)/.exec(filter.slice(i));
      if (op) {
        tokens.push({ kind: 'op', text: op[1]! });
        i += op[1]!.length;
        continue;
      }
      const word = /^[^\s()=!<>:"']+/.exec(filter.slice(i));
      if (!word) invalid(filter);
      tokens.push({ kind: 'word', text: word![0] });
      i += word![0].length;
    }
  }
  return tokens;
}

function lookup(resource: unknown, path: string): unknown {
  let value: unknown = resource;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function compare(actual: unknown, op: string, expected: string): boolean {
  if (op === ':') {
    if (expected === '*') return actual !== undefined && actual !== null;
    if (Array.isArray(actual)) return actual.some((v) => String(v) === expected);
    if (typeof actual === 'object' && actual !== null) return expected in actual;
    return actual !== undefined && String(actual).includes(expected);
  }
  if (actual === undefined || actual === null) return op === '!=';
  const text = typeof actual === 'object' ? JSON.stringify(actual) : String(actual);
  const numeric = /^-?\d+(\.\d+)?$/.test(text) && /^-?\d+(\.\d+)?$/.test(expected);
  const order = numeric ? Number(text) - Number(expected) : text < expected ? -1 : text > expected ? 1 : 0;
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>':
      return order > 0;
    case '<':
      return order < 0;
    case '>=':
      return order >= 0;
    case '<=':
      return order <= 0;
  }
  return false;
}

export function parseFilter(filter: string | null): Predicate {
  if (filter === null || filter.trim() === '') return () => true;
  const tokens = tokenize(filter);
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++] ?? invalid(filter);

  const term = (): Predicate => {
    const t = next();
    if (t.kind === '(') {
      const inner = expression();
      if (next().kind !== ')') invalid(filter);
      return inner;
    }
    if (t.kind === 'word' && t.text.toUpperCase() === 'NOT') {
      const inner = term();
      return (r) => !inner(r);
    }
    if (t.kind === 'word' && t.text.startsWith('-') && t.text.length > 1) {
      at--;
      tokens[at] = { kind: 'word', text: t.text.slice(1) };
      const inner = term();
      return (r) => !inner(r);
    }
    if (t.kind !== 'word') invalid(filter);
    const field = t.text;
    const op = next();
    if (op.kind === 'word' && (op.text === 'eq' || op.text === 'ne')) {
      const value = next();
      if (value.kind !== 'word' && value.kind !== 'string') invalid(filter);
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${value.text})$`);
      } catch {
        return invalid(filter);
      }
      const wanted = op.text === 'eq';
      return (r) => {
        const actual = lookup(r, field);
        return actual !== undefined && regex.test(String(actual)) === wanted;
      };
    }
    if (op.kind !== 'op') invalid(filter);
    const value = next();
    if (value.kind !== 'word' && value.kind !== 'string') invalid(filter);
    return (r) => compare(lookup(r, field), op.text, value.text);
  };

  const conjunction = (): Predicate => {
    const parts = [term()];
    for (;;) {
      const t = peek();
      if (!t || t.kind === ')' || (t.kind === 'word' && t.text.toUpperCase() === 'OR')) break;
      if (t.kind === 'word' && t.text.toUpperCase() === 'AND') at++;
      parts.push(term());
    }
    return (r) => parts.every((p) => p(r));
  };

  const expression = (): Predicate => {
    const parts = [conjunction()];
    while (peek()?.kind === 'word' && peek()!.text.toUpperCase() === 'OR') {
      at++;
      parts.push(conjunction());
    }
    return (r) => parts.some((p) => p(r));
  };

  const predicate = expression();
  if (at !== tokens.length) invalid(filter);
  return predicate;
}

/** `orderBy`: Compute takes `name` and `creationTimestamp desc` only. */
export function sortBy<T extends { name: string; creationTimestamp: string }>(
  items: T[],
  orderBy: string | null,
): T[] {
  if (orderBy === null || orderBy.trim() === '') return items;
  const order = orderBy.trim().replace(/\s+/g, ' ');
  if (order === 'name') return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (order === 'creationTimestamp desc')
    return [...items].sort((a, b) => (a.creationTimestamp < b.creationTimestamp ? 1 : -1));
  return fail(
    400,
    'invalid',
    `Invalid value for field 'orderBy': '${orderBy}'. Sorting is only supported by name and by creationTimestamp desc.`,
  );
}
