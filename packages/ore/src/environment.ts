import type { LogFlags } from '@mantle/cli';
import type { PlatformEntry } from '@mantle/cluster';

/**
 * What ore runs with. The shipped binary passes the registry; the repo's tests pass, through a test
 * entry point of theirs, a toy platform and a fixed clock (the emulators stamp resources with the
 * real time) — so the shipped CLI never reads such hooks from its environment.
 */
export interface OreDependencies {
  platforms: readonly PlatformEntry[];
  /** The clock gc ages are measured against; the real one by default. */
  now?: () => Date;
}

export const defaultGcAge = '5h';

/** Parsed flags of any ore command. */
export interface OreFlags extends LogFlags {
  json?: boolean;
  [key: string]: unknown;
}

/** What an action needs besides its flags. */
export interface OreActionEnvironment {
  deps: OreDependencies;
  signal: AbortSignal;
  setExitCode(code: number): void;
}
