import { appendFileSync, closeSync, openSync } from 'node:fs';
import { redact } from './redact.js';

export const logLevels = ['debug', 'info', 'notice', 'warning', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
const rank: Record<LogLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4 };

export type LogFields = Record<string, unknown>;

export interface LogRecord {
  time: string;
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** Where log records go. Sinks receive records already redacted. */
export interface LogSink {
  minLevel: LogLevel;
  write(record: LogRecord): void;
  close?(): void;
}

/**
 * A structured logger passed through contexts (no module-level loggers). `child()` adds fields such
 * as the test or machine name; every sink sees redacted text.
 */
export class Logger {
  constructor(
    private readonly sinks: LogSink[],
    private readonly fields: LogFields = {},
  ) {}

  child(fields: LogFields): Logger {
    return new Logger(this.sinks, { ...this.fields, ...fields });
  }

  /** A logger that also writes to `sink` (e.g. a test's own log file). */
  withSink(sink: LogSink): Logger {
    return new Logger([...this.sinks, sink], this.fields);
  }

  enabled(level: LogLevel): boolean {
    return this.sinks.some((s) => rank[level] >= rank[s.minLevel]);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record: LogRecord = {
      time: new Date().toISOString(),
      level,
      msg: redact(msg),
      fields: redactFields({ ...this.fields, ...fields }),
    };
    for (const sink of this.sinks) if (rank[level] >= rank[sink.minLevel]) sink.write(record);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  notice(msg: string, fields?: LogFields): void {
    this.log('notice', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warning', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  close(): void {
    for (const s of this.sinks) s.close?.();
  }
}

function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' ? redact(v) : v;
  return out;
}

function formatFields(fields: LogFields): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/** Human-readable lines on a stream (stderr for the CLIs). */
export function streamSink(stream: { write(s: string): unknown }, minLevel: LogLevel = 'notice'): LogSink {
  return {
    minLevel,
    write(r) {
      stream.write(
        `${r.time.slice(11, 23)} ${r.level.toUpperCase().padEnd(7)} ${r.msg}${formatFields(r.fields)}\n`,
      );
    },
  };
}

/** Appends one formatted line per record, synchronously, through a descriptor kept open until close(). */
function lineFileSink(
  path: string,
  minLevel: LogLevel,
  format: (r: LogRecord) => string,
): LogSink & { close(): void } {
  let fd: number | undefined = openSync(path, 'a');
  return {
    minLevel,
    write(r) {
      if (fd !== undefined) appendFileSync(fd, format(r));
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** JSON lines appended to a file (kola.log). Synchronous so a crash loses nothing already logged. */
export function jsonFileSink(path: string, minLevel: LogLevel = 'debug'): LogSink & { close(): void } {
  return lineFileSink(
    path,
    minLevel,
    (r) => `${JSON.stringify({ time: r.time, level: r.level, msg: r.msg, ...r.fields })}\n`,
  );
}

/** Human lines appended to a file (a test's test.log); fields named in `omit` are left out. */
export function textFileSink(
  path: string,
  minLevel: LogLevel = 'debug',
  omit: string[] = [],
): LogSink & { close(): void } {
  return lineFileSink(path, minLevel, (r) => {
    const fields = Object.fromEntries(Object.entries(r.fields).filter(([k]) => !omit.includes(k)));
    return `${r.time} ${r.level.toUpperCase()} ${r.msg}${formatFields(fields)}\n`;
  });
}

/** Collects records in memory (tests, and per-test output captured into reports). */
export function memorySink(minLevel: LogLevel = 'debug'): LogSink & { records: LogRecord[]; text(): string } {
  const records: LogRecord[] = [];
  return {
    minLevel,
    records,
    write(r) {
      records.push(r);
    },
    text() {
      return records.map((r) => `${r.msg}${formatFields(r.fields)}`).join('\n');
    },
  };
}

export function createLogger(sinks: LogSink[] = [], fields?: LogFields): Logger {
  return new Logger(sinks, fields);
}

/** A logger that drops everything. */
export const silentLogger = (): Logger => new Logger([]);

export function parseLogLevel(value: string): LogLevel | undefined {
  const v = value.toLowerCase();
  if (v === 'warn') return 'warning';
  return (logLevels as readonly string[]).includes(v) ? (v as LogLevel) : undefined;
}
