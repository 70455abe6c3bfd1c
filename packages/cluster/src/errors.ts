/**
 * One error tree for kola and ore. Every error carries a stable `code` (for scripts and reports) and a
 * message written for the operator; `hint` says what to do about it. The CLIs map `exitCode` to the
 * process exit status; library code only throws.
 */
export interface MantleErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class MantleError extends Error {
  readonly code: string;
  readonly hint?: string;
  /** Process exit status the CLIs use when this error ends a command. */
  readonly exitCode: number = 3;

  constructor(code: string, message: string, options: MantleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }

  /** One line for the operator: message, then the hint if there is one. */
  describe(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

/** Bad flags or arguments. */
export class UsageError extends MantleError {
  override readonly exitCode = 2;
  constructor(message: string, options?: MantleErrorOptions) {
    super('usage', message, options);
  }
}

/** A configuration file, option value or denylist that cannot be used. */
export class ConfigError extends MantleError {
  override readonly exitCode = 2;
  constructor(message: string, options?: MantleErrorOptions & { code?: string }) {
    super(options?.code ?? 'config', message, options);
  }
}

/** Credentials missing, unreadable or malformed. */
export class CredentialsError extends MantleError {
  override readonly exitCode = 2;
  constructor(message: string, options?: MantleErrorOptions) {
    super('credentials', message, options);
  }
}

/** Userdata (Ignition, cloud-config, script) that cannot be used; `path` is the JSON path of the problem. */
export class UserDataError extends MantleError {
  override readonly exitCode = 2;
  readonly path: string;
  constructor(message: string, path = '$', options?: MantleErrorOptions) {
    super('userdata.invalid', path === '$' ? message : `${path}: ${message}`, options);
    this.path = path;
  }
}

export interface PlatformApiErrorDetails {
  platform: string;
  operation: string;
  status?: number;
  requestId?: string;
  /** Provider error code, e.g. `InvalidInstanceID.NotFound`. */
  providerCode?: string;
}

/** A cloud or hypervisor API call failed. */
export class PlatformApiError extends MantleError {
  readonly details: PlatformApiErrorDetails;
  constructor(details: PlatformApiErrorDetails, message: string, options?: MantleErrorOptions) {
    const where = [
      details.status !== undefined ? `status ${details.status}` : undefined,
      details.providerCode,
      details.requestId ? `request ${details.requestId}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(
      `platform.${details.platform}.api`,
      `${details.platform} ${details.operation}: ${message}${where ? ` (${where})` : ''}`,
      options,
    );
    this.details = details;
  }
}

/** Could not connect or authenticate over SSH. */
export class SshConnectError extends MantleError {
  constructor(message: string, options?: MantleErrorOptions) {
    super('ssh.connect', message, options);
  }
}

/** The SSH host key of a machine changed outside a reboot kola made. */
export class HostKeyMismatchError extends MantleError {
  constructor(message: string, options?: MantleErrorOptions) {
    super('ssh.host-key-changed', message, options);
  }
}

/** A command run over SSH exited non-zero (and the caller asked for it to be checked). */
export class SshCommandError extends MantleError {
  readonly command: string;
  readonly exitStatus: number | null;
  readonly signal?: string;
  readonly stderrTail: string;
  constructor(command: string, exitStatus: number | null, stderr: string, signal?: string) {
    const tail = stderr.trimEnd().split('\n').slice(-5).join('\n');
    const how = exitStatus === null ? `was killed by ${signal ?? 'a signal'}` : `exited ${exitStatus}`;
    super('ssh.command', `command ${JSON.stringify(command)} ${how}${tail ? `: ${tail}` : ''}`);
    this.command = command;
    this.exitStatus = exitStatus;
    if (signal !== undefined) this.signal = signal;
    this.stderrTail = tail;
  }
}

/** A deadline passed; `phase` names what was being waited for. */
export class TimeoutError extends MantleError {
  readonly phase: string;
  readonly timeoutMs: number;
  constructor(phase: string, timeoutMs: number, options?: MantleErrorOptions) {
    super('timeout', `timed out after ${formatDuration(timeoutMs)} ${phase}`, options);
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/** The operation was cancelled (Ctrl-C, SIGTERM, a parent deadline). */
export class AbortedError extends MantleError {
  override readonly exitCode = 130;
  constructor(message = 'interrupted', options?: MantleErrorOptions) {
    super('aborted', message, options);
  }
}

/** Destroying something failed. Reported next to the test result, never instead of it. */
export class CleanupError extends MantleError {
  readonly errors: unknown[];
  constructor(message: string, errors: unknown[]) {
    super('cleanup', `${message}: ${errors.map(errorMessage).join('; ')}`);
    this.errors = errors;
  }
}

/**
 * An operation failed, and undoing what it had made failed too. It keeps the failure's code and exit
 * status (that is why the operation failed); `errors` are the cleanups that failed, each naming what may
 * be left behind. A RollbackError given as the failure is flattened into this one.
 */
export class RollbackError extends CleanupError {
  override readonly code: string;
  override readonly exitCode: number;
  readonly failure: unknown;
  constructor(failure: unknown, cleanupErrors: unknown[]) {
    const inner = failure instanceof RollbackError ? failure : undefined;
    const root = inner ? inner.failure : failure;
    super(`${errorMessage(root)}; then cleaning up failed`, [...(inner?.errors ?? []), ...cleanupErrors]);
    this.failure = root;
    this.code = root instanceof MantleError ? root.code : 'cleanup';
    this.exitCode = root instanceof MantleError ? root.exitCode : 3;
  }
}

/** `failure` itself when nothing failed while cleaning up after it, else a RollbackError with both. */
export function withCleanupErrors(failure: unknown, cleanupErrors: unknown[]): unknown {
  return cleanupErrors.length ? new RollbackError(failure, cleanupErrors) : failure;
}

/** Why the operation that threw `e` failed, without the cleanup failures a RollbackError adds. */
export function rootFailure(e: unknown): unknown {
  return e instanceof RollbackError ? e.failure : e;
}

/** The cleanups that failed after the operation that threw `e` (what may be left behind); [] if none. */
export function cleanupErrorsOf(e: unknown): unknown[] {
  return e instanceof RollbackError ? e.errors : [];
}

export function isMantleError(e: unknown): e is MantleError {
  return e instanceof MantleError;
}

/** The operator-facing text of any thrown value, without a stack. */
export function errorMessage(e: unknown): string {
  if (e instanceof MantleError) return e.describe();
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/**
 * Turns the reason of an aborted signal into a typed error: our own TimeoutError/AbortedError pass
 * through; DOMException TimeoutError (from AbortSignal.timeout) becomes a TimeoutError for `phase`.
 */
export function abortReason(signal: AbortSignal, phase = 'waiting', timeoutMs = 0): MantleError {
  const reason: unknown = signal.reason;
  if (reason instanceof MantleError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new TimeoutError(phase, timeoutMs);
  return new AbortedError();
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
}
