import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CommandIo,
  type CommandProgress,
  Logger,
  MantleError,
  memorySink,
  type PlatformCommand,
  resolveOptions,
} from '@mantle/cluster';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type AwsClients, createAwsClients } from '../src/api/clients.js';
import { awsCommands } from '../src/commands/index.js';
import { awsOptions } from '../src/options.js';
import { type Moto, motoCredentials, startMoto } from '../src/testing/moto.js';

/** What a verb printed through its io, and how it ended. */
export interface VerbRun {
  code: number;
  results: unknown[];
  text: string[];
  progress: Array<{ label: string; total?: number; advanced: number; done: boolean }>;
  error?: MantleError | Error;
  log: string;
}

/** Runs an `ore aws` verb in-process, as the ore CLI would, with a recording io. */
export async function runVerb(
  moto: Moto,
  verb: string,
  options: Record<string, unknown>,
  args: string[] = [],
  platform: Record<string, unknown> = {},
): Promise<VerbRun> {
  const commands: readonly PlatformCommand<typeof awsOptions>[] = awsCommands;
  const command = commands.find((c) => c.name === verb);
  if (!command) throw new Error(`no verb ${verb}`);
  const sink = memorySink('debug');
  const run: VerbRun = { code: -1, results: [], text: [], progress: [], log: '' };
  const io: CommandIo = {
    stdout: process.stdout,
    json: true,
    result(data, text) {
      run.results.push(JSON.parse(JSON.stringify(data)));
      if (text !== undefined) run.text.push(text);
    },
    progress(label, o = {}): CommandProgress {
      const bar = { label, ...(o.total !== undefined ? { total: o.total } : {}), advanced: 0, done: false };
      run.progress.push(bar);
      return {
        advance: (n) => {
          bar.advanced += n;
        },
        status: () => {},
        done: () => {
          bar.done = true;
        },
      };
    },
  };
  try {
    // Resolved with the schemas as the CLI does, so defaults apply and bad values are usage errors.
    const resolved = command.options
      ? resolveOptions('aws', command.options, { flags: options, flagPrefix: '--', env: {} })
      : {};
    run.code =
      (await command.run({
        options: resolved,
        platformOptions: awsOptions.parse(moto.options(platform)),
        args,
        log: new Logger([sink]),
        signal: AbortSignal.timeout(50_000),
        io,
      })) ?? 0;
  } catch (e) {
    run.error = e as Error;
    run.code = e instanceof MantleError ? e.exitCode : 1;
  }
  run.log = sink.text();
  return run;
}

/** A sparse raw image of `sizeBytes` with `fill` written at each offset (one block each). */
export function sparseImage(
  path: string,
  sizeBytes: number,
  writes: Array<{ offset: number; data: Buffer }>,
) {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, sizeBytes);
    for (const w of writes) writeSync(fd, w.data, 0, w.data.length, w.offset);
  } finally {
    closeSync(fd);
  }
}

/** A pattern that is never all zero and differs per block, so misplaced blocks show. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) b.writeUInt32LE((i * 2654435761 + seed * 40503 + 1) >>> 0, i);
  return b;
}

/** One moto per test file, reset before each test, with fresh clients and a scratch directory. */
export interface MotoPerFile {
  readonly moto: Moto;
  readonly clients: AwsClients;
  readonly dir: string;
}

/** Registers the file's hooks; read the fields inside tests and hooks (they are set by then). */
export function useMotoPerFile(dirPrefix: string): MotoPerFile {
  const state: { moto?: Moto; clients?: AwsClients; dir?: string } = {};
  beforeAll(async () => {
    state.moto = await startMoto();
    process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
    state.dir = mkdtempSync(join(tmpdir(), dirPrefix));
  });
  afterAll(async () => {
    state.clients?.destroy();
    await state.moto?.stop();
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await state.moto!.reset();
    state.clients?.destroy();
    state.clients = createAwsClients(state.moto!.options(), { maxAttempts: 1 });
  });
  return {
    get moto() {
      return state.moto!;
    },
    get clients() {
      return state.clients!;
    },
    get dir() {
      return state.dir!;
    },
  };
}
