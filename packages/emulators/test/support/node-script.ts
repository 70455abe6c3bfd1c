import { type ChildProcess, spawn } from 'node:child_process';

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ScriptProcess {
  child: ChildProcess;
  done: Promise<ScriptResult>;
  /** stderr so far. */
  stderr(): string;
}

/** Runs `node <script> <args>` (a CLI under test), collecting its output. */
export function startNodeScript(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ScriptProcess {
  const child = spawn(process.execPath, [script, ...args], {
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<ScriptResult>((res) =>
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}
