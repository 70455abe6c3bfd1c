import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ScriptProcess, type ScriptResult, startNodeScript } from './node-script.js';

/** ore's test entry point (the built CLI with the shipped platforms); `pnpm run build` first. */
export const oreMain = resolve(dirname(fileURLToPath(import.meta.url)), '../../../ore/test/support/ore.mjs');

/** Starts `ore <args>` as a process; `env` is added to this process's environment. */
export function startOre(args: string[], env: Record<string, string> = {}): ScriptProcess {
  return startNodeScript(oreMain, args, { env: { ...process.env, ...env } });
}

export function ore(args: string[], env: Record<string, string> = {}): Promise<ScriptResult> {
  return startOre(args, env).done;
}
