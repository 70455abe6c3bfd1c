import type { Interrupts } from '@mantle/cli';
import type { Dialer, PlatformEntry } from '@mantle/cluster';
import type { TestDefinition } from '@mantle/harness';

/**
 * What kola runs with. The shipped binary passes the registry (`kolaPlatforms`) and nothing else;
 * the repo's own tests pass, through a test entry point of theirs, fake platforms, fixture tests and
 * an SSH dialer — so the shipped CLI never loads code named by its environment.
 */
export interface KolaDependencies {
  platforms: readonly PlatformEntry[];
  /** Tests added to kola's own. */
  extraTests?: () => Promise<TestDefinition[]>;
  /** Routes SSH connections (tests reach emulated clouds' machines with it); the default dials TCP. */
  dialer?: Dialer;
}

/** What each subcommand gets besides its flags. */
export interface KolaCommandEnvironment {
  deps: KolaDependencies;
  interrupts: Interrupts;
  /** The output directory once a run has one, for the second Ctrl-C's cleanup hint. */
  runDir: { current?: string };
  argv: string[];
}
