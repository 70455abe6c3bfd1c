import { AssertionError } from 'node:assert';

/** Something a fake saw that the provider's spec (or the fake's own code) does not allow. */
export interface Violation {
  /** `request`: the client sent it; `response`: the fake answered it; `handler`: a route threw. */
  kind: 'request' | 'response' | 'handler';
  operationId: string;
  method: string;
  path: string;
  /** The status answered. */
  status: number;
  problems: string[];
}

export function describeViolation(v: Violation): string {
  return `${v.kind} ${v.method} ${v.path} (${v.operationId}) → ${v.status}: ${v.problems.join('; ')}`;
}

/**
 * Fails (throws) when the fake recorded any violation, listing them, and clears them so the next test
 * starts clean. Use it in `afterEach(() => expectNoViolations(api))`.
 */
export function expectNoViolations(api: { name: string; takeViolations(): Violation[] }): void {
  const violations = api.takeViolations();
  if (violations.length === 0) return;
  throw new AssertionError({
    message:
      `${api.name}: ${violations.length} spec violation(s):\n` +
      violations.map((v) => `  ${describeViolation(v)}`).join('\n'),
  });
}
