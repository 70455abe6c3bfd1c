import type { z } from 'zod';
import type { Flight } from './flight.js';
import type { GcOpenContext, GcSession } from './gc.js';
import type { Ledger, LedgerEntry } from './ledger.js';
import type { Logger } from './log.js';
import type { PlatformOptionsSchema } from './options.js';
import type { Dialer, HostKeyStore, SshIdentity } from './ssh.js';

/** What a platform gets from the harness for one run. */
export interface PlatformContext {
  log: Logger;
  /** The run's root signal: Ctrl-C/SIGTERM abort it. */
  signal: AbortSignal;
  /** The run's output directory (`_kola_temp/<platform>-…`). */
  outputDir: string;
  ssh: SshIdentity;
  /** How long to keep trying to reach a new machine over SSH. */
  sshTimeoutMs: number;
  hostKeys: HostKeyStore;
  /** Routes SSH connections; the default dials TCP. Tests route to local servers. */
  dialer?: Dialer;
  /** Tags for every created resource: created-by, kola-run, … */
  tags: Record<string, string>;
  ledger: Ledger;
  /** The run id (`<basename>-<random>`), used in resource names. */
  runId: string;
  /** `--basename` (default `kola`): prefix of flight, cluster and machine names. */
  basename: string;
  /**
   * Machines must outlive this process (`kola spawn --detach`): local platforms then must not tie
   * their VMs to kola's lifetime. The ledger still records them for `kola cleanup`.
   */
  detached?: boolean;
}

/** A progress bar on stderr when it is a TTY, plain lines otherwise. */
export interface CommandProgress {
  /** Adds to the amount done (bytes or items). */
  advance(amount: number): void;
  /** Replaces the status text shown beside the bar. */
  status(text: string): void;
  /** Ends the bar (prints the final line). Idempotent. */
  done(message?: string): void;
}

/** How an ore verb talks to its operator: results on stdout, progress and logs on stderr. */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  /** `--json` was given: results are printed as JSON. */
  json: boolean;
  /** Prints one result: JSON with --json, else `text` (or the data rendered as lines). */
  result(data: unknown, text?: string): void;
  progress(label: string, options?: { total?: number; unit?: 'bytes' | 'items' }): CommandProgress;
}

/** A positional argument of an ore verb, e.g. copy-image's `<region...>`. */
export interface CommandArgument {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

/** What an ore verb's `run` receives: both option sets parsed by their schemas, with their types. */
export interface CommandInput<
  PS extends PlatformOptionsSchema = PlatformOptionsSchema,
  VS extends PlatformOptionsSchema = PlatformOptionsSchema,
> {
  /** This verb's options, resolved (flags > env > defaults) and validated by its schema. */
  options: z.output<VS>;
  /** The platform's options, resolved and validated by the platform's schema. */
  platformOptions: z.output<PS>;
  args: string[];
  log: Logger;
  signal: AbortSignal;
  io: CommandIo;
}

/**
 * One `ore <platform> <verb>`; declared without any CLI library so platforms stay CLI-agnostic.
 * Keep the declaration cheap (zod only) and import the implementation inside `run`.
 */
export interface PlatformCommand<
  PS extends PlatformOptionsSchema = PlatformOptionsSchema,
  VS extends PlatformOptionsSchema = PlatformOptionsSchema,
> {
  name: string;
  description: string;
  arguments?: CommandArgument[];
  /**
   * The verb's own flags: `--<kebab-key>`, with `.meta({ aliases })` for old spellings. The
   * platform's options are added by ore under the same names as kola's (`--aws-region`, …).
   */
  options?: VS;
  run(input: CommandInput<PS, VS>): Promise<number | undefined>;
}

/**
 * Declares an ore verb of the platform whose options schema is given (only its type is used), so
 * `run` sees both option sets typed.
 */
export function defineCommand<PS extends PlatformOptionsSchema, VS extends PlatformOptionsSchema>(
  _platformOptions: PS,
  command: PlatformCommand<PS, VS> & { options: VS },
): PlatformCommand<PS, VS> {
  return command;
}

export interface Platform<S extends PlatformOptionsSchema = PlatformOptionsSchema> {
  /** mantle's name: qemu, aws, azure, do, esx, gce, packet. */
  name: string;
  description: string;
  /** The single source of `--<name>-*` flags, env vars, defaults and help. */
  options: S;
  createFlight(options: z.output<S>, ctx: PlatformContext): Promise<Flight>;
  /**
   * How many tests `kola run` runs at once when -j is not given (local platforms are bound by the
   * host's cores; clouds by quota). Default 1.
   */
  defaultParallelism?(options: z.output<S>): number;
  /** This platform's block in properties.json, with values after resolution. */
  properties(options: z.output<S>): Record<string, unknown>;
  /**
   * Destroys a resource found alive in a run's ledger (`kola cleanup`). Resolves when it is gone,
   * including when it was already gone.
   */
  destroyLedgerEntry?(entry: LedgerEntry, options: z.output<S>, ctx: PlatformContext): Promise<void>;
  /**
   * `ore gc` / `ore <platform> gc`: checks the credentials, loads the SDK and returns the resource
   * kinds bound to these options. Absent = the platform leaks nothing that outlives kola (qemu).
   */
  gc?(options: z.output<S>, ctx: GcOpenContext): Promise<GcSession>;
  commands?: readonly PlatformCommand<S>[];
}

/** Declares a platform: a value, listed once in `kolaPlatforms`. */
export function definePlatform<S extends PlatformOptionsSchema>(platform: Platform<S>): Platform<S> {
  if (!/^[a-z][a-z0-9]*$/.test(platform.name))
    throw new Error(`platform name "${platform.name}" must be lowercase letters and digits`);
  return platform;
}

/**
 * Lazy entry of the platform list: naming a platform does not load it (or its SDK). `S` keeps the
 * platform's options type for code that names the entry statically.
 */
export interface PlatformEntry<S extends PlatformOptionsSchema = PlatformOptionsSchema> {
  name: string;
  /**
   * The `ore` group where mantle named it otherwise than the kola platform (`gce` → `ore gcloud`);
   * ore also answers to `name`.
   */
  oreName?: string;
  description: string;
  load(): Promise<Platform<S>>;
}
