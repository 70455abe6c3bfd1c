import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, sep } from 'node:path';
import { ConfigError, CredentialsError, type MantleErrorOptions } from '@mantle/cluster';
import type { z } from 'zod';

/**
 * mantle's per-platform credential files (`~/.config/digitalocean.json`, `~/.config/esx.json`,
 * `~/.config/packet.json`) are JSON maps of profile name to that platform's settings:
 * `{ "default": { "token": "…" }, "other": { … } }`. This module reads and validates them and turns
 * every problem into a one-line error that names the file, the profile and the field.
 */

export const DEFAULT_PROFILE = 'default';

/** The home directory: `homeDir` if given (tests), else `$HOME`, else the OS's idea of it. */
export function homeDirectory(homeDir?: string): string {
  return homeDir ?? (process.env.HOME || homedir());
}

/** Expands a leading `~` or `~/` to the home directory. `~user` forms are left alone. */
export function expandHome(path: string, homeDir?: string): string {
  if (path === '~') return homeDirectory(homeDir);
  if (path.startsWith('~/') || (sep !== '/' && path.startsWith(`~${sep}`))) {
    return join(homeDirectory(homeDir), path.slice(2));
  }
  return path;
}

/** The inverse of expandHome, for messages: `/home/me/.config/x.json` → `~/.config/x.json`. */
export function tildePath(path: string, homeDir?: string): string {
  const home = homeDirectory(homeDir).replace(/[\\/]+$/, '');
  if (!home) return path;
  if (path === home) return '~';
  if (path.startsWith(home + sep) || path.startsWith(`${home}/`)) return `~/${path.slice(home.length + 1)}`;
  return path;
}

/** mantle's default location for a platform file: `$HOME/.config/<fileName>` (no XDG lookup, as mantle). */
export function defaultConfigPath(fileName: string, homeDir?: string): string {
  return join(homeDirectory(homeDir), '.config', fileName);
}

/**
 * A warning when a credentials file can be read (or written) by group or others, else undefined.
 * Missing files, stat failures and Windows (no POSIX modes) give undefined. `displayAs` is the
 * path shown in the message (defaults to `path`).
 */
export function checkFilePrivate(path: string, displayAs: string = path): string | undefined {
  if (process.platform === 'win32') return undefined;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `${displayAs} is readable by others (mode ${octal}); run chmod 600 ${shellWord(displayAs)}`;
}

/** The config file does not exist. resolveCredentials() catches this one to give a fuller message. */
export class MissingConfigFileError extends CredentialsError {
  /** The path as read (after `~` expansion). */
  readonly path: string;
  /** The path as shown to the operator (`~/…`). */
  readonly displayPath: string;
  constructor(message: string, path: string, displayPath: string, options?: MantleErrorOptions) {
    super(message, options);
    this.path = path;
    this.displayPath = displayPath;
  }
}

export interface ReadProfileFileOptions<T> {
  /** File path; a leading `~` is expanded. */
  path: string;
  /** Platform name for messages (`do`, `esx`, `packet`). */
  platform: string;
  /** Validates one profile's settings. */
  schema: z.ZodType<T>;
  /** Profile to select; default `default`. Ignored by readProfiles(). */
  profile?: string;
  /** Home directory for `~` expansion (tests); default `$HOME`. */
  homeDir?: string;
  /** Also called with each warning (e.g. to log it); warnings are returned by readProfileFile too. */
  onWarning?: (message: string) => void;
}

export interface ProfileFileResult<T> {
  config: T;
  /** The file that was read (after `~` expansion). */
  path: string;
  profile: string;
  /** Non-fatal problems, e.g. the file is readable by others. */
  warnings: string[];
}

/** Reads `path`, selects `profile` (default `default`) and validates it against `schema`. */
export function readProfileFile<T>(opts: ReadProfileFileOptions<T>): ProfileFileResult<T> {
  const profile = opts.profile ?? DEFAULT_PROFILE;
  const loaded = loadProfileMap(opts);
  if (!Object.hasOwn(loaded.map, profile)) {
    const names = Object.keys(loaded.map).map((n) => JSON.stringify(n).slice(1, -1));
    throw new CredentialsError(
      `${loaded.display}: no profile ${JSON.stringify(profile)} (profiles: ${names.join(', ')})`,
    );
  }
  const config = validateProfile(opts.schema, loaded.map[profile], profile, loaded.display);
  return { config, path: loaded.path, profile, warnings: loaded.warnings };
}

/** Reads every profile of the file, each validated against `schema`, in file order. */
export function readProfiles<T>(opts: Omit<ReadProfileFileOptions<T>, 'profile'>): Map<string, T> {
  const loaded = loadProfileMap(opts);
  const out = new Map<string, T>();
  for (const [name, value] of Object.entries(loaded.map)) {
    out.set(name, validateProfile(opts.schema, value, name, loaded.display));
  }
  return out;
}

interface LoadedMap {
  path: string;
  display: string;
  map: Record<string, unknown>;
  warnings: string[];
}

function loadProfileMap(opts: Omit<ReadProfileFileOptions<unknown>, 'schema' | 'profile'>): LoadedMap {
  const path = expandHome(opts.path, opts.homeDir);
  const display = tildePath(path, opts.homeDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new MissingConfigFileError(
        `no ${opts.platform} config file at ${display} (create it, or pass credentials by flag or environment)`,
        path,
        display,
        { hint: 'the file is a JSON object of profiles: {"default": {…}}', cause: e },
      );
    }
    throw new CredentialsError(`${display}: cannot read: ${describeIoError(e)}`, { cause: e });
  }
  const data = parseCredentialsJson(text, display);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `${display}: no profiles in file (expected a JSON object of profiles, got ${typeName(data)})`,
      {
        code: 'config.credentials',
      },
    );
  }
  const map = data as Record<string, unknown>;
  if (Object.keys(map).length === 0) throw new CredentialsError(`${display}: no profiles in file`);
  const warnings: string[] = [];
  const warning = checkFilePrivate(path, display);
  if (warning) {
    warnings.push(warning);
    opts.onWarning?.(warning);
  }
  return { path, display, map, warnings };
}

/**
 * The JSON of a credentials file (a leading BOM tolerated); invalid JSON is a ConfigError naming the
 * file, the line and the column, without the text (which may be a secret).
 */
export function parseCredentialsJson(text: string, display: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    // V8 quotes the offending source text in some messages; that text may be a secret, so it is dropped.
    throw new ConfigError(`${display}: not valid JSON: ${describeJsonError(e, body)}`, {
      code: 'config.credentials',
    });
  }
}

function validateProfile<T>(schema: z.ZodType<T>, value: unknown, profile: string, display: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const shown = issues.slice(0, 3).map((issue) => describeIssue(issue, value));
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : '';
  throw new ConfigError(`${display}: profile ${JSON.stringify(profile)}: ${shown.join('; ')}${more}`, {
    code: 'config.credentials',
  });
}

export interface IssueLike {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  expected?: unknown;
}

/** `field "token": expected string, got number` from a zod issue. Never quotes the input value. */
export function describeIssue(issue: IssueLike, root: unknown): string {
  const path = formatIssuePath(issue.path);
  const prefix = path ? `field ${JSON.stringify(path)}: ` : '';
  if (issue.code === 'invalid_type' && typeof issue.expected === 'string') {
    const { found, value } = valueAt(root, issue.path);
    if (!found || value === undefined) return `${prefix}missing (expected ${issue.expected})`;
    return `${prefix}expected ${issue.expected}, got ${typeName(value)}`;
  }
  const message = issue.message.replace(/^Invalid input:\s*/, '');
  return prefix + message.charAt(0).toLowerCase() + message.slice(1);
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) {
      return { found: false, value: undefined };
    }
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: current };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** An I/O error in a few words for messages: `permission denied (EACCES)`, `is a directory`. */
export function describeIoError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${err.code})`;
    case 'EISDIR':
      return 'is a directory';
    default:
      return err.code ?? (e instanceof Error ? e.message : String(e));
  }
}

/** The parser's complaint without any quoted source text, plus `at line L column C` when known. */
export function describeJsonError(e: unknown, text: string): string {
  let message = e instanceof Error ? e.message : String(e);
  let offset: number | undefined;
  const at = /\s*in JSON at position (\d+)/.exec(message);
  if (at) {
    offset = Number(at[1]);
    message = message.slice(0, at.index) + message.slice(at.index + at[0].length);
  }
  message = message.replace(/\s*\(line \d+ column \d+\)/, '');
  // `Unexpected token 'x', "…source…" is not valid JSON` (the source is quoted, possibly truncated).
  const token = /^(Unexpected token .+?), (?:\.\.\.)?"[\s\S]*is not valid JSON$/.exec(message);
  if (token) message = token[1]!;
  else if (/is not valid JSON/.test(message)) message = 'unexpected input';
  offset ??= jsonErrorOffset(text);
  if (offset === undefined) return message;
  const { line, column } = lineColumn(text, offset);
  return `${message} at line ${line} column ${column}`;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/**
 * The offset of the first syntax error in `text`, or undefined if it is valid JSON. Used when the
 * parser's message carries no position.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new JsonSyntaxAt(i);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r'))
      i++;
  };
  const digits = (): void => {
    const start = i;
    while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === start) fail();
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    if (text[i] !== '"') fail();
    i++;
    for (;;) {
      const ch = text[i];
      if (ch === undefined) fail();
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        i++;
        const esc = text[i];
        if (esc === 'u') {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
            i++;
          }
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i++;
        else fail();
      } else if (ch!.charCodeAt(0) < 0x20) fail();
      else i++;
    }
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (e) {
    if (e instanceof JsonSyntaxAt) return e.offset;
    throw e;
  }
}

class JsonSyntaxAt {
  constructor(readonly offset: number) {}
}

/** Quotes a path for a copy-pasteable shell command, only when needed. */
function shellWord(path: string): string {
  if (/^[\w@%+=:,./~-]+$/.test(path)) return path;
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  // Keep a leading ~/ outside the quotes so the shell still expands it.
  return path.startsWith('~/') ? `~/${quote(path.slice(2))}` : quote(path);
}
