import type { CommandArgument, OptionSpec } from '@mantle/cluster';

/** One ore verb as the CLIs need it for flags and help: no zod, no implementation. */
export interface CommandDescription {
  name: string;
  description: string;
  arguments: CommandArgument[];
  options: OptionSpec[];
}

/**
 * A platform as the CLIs need it to build flags and help before anything runs. `kola run --help`
 * and `ore <platform> --help` are built from these, so they load neither the platform nor zod.
 */
export interface PlatformDescription {
  name: string;
  description: string;
  /** `--<platform>-*` options. */
  options: OptionSpec[];
  commands: CommandDescription[];
  /** The platform has `gc` (ore adds `ore <platform> gc` and includes it in `ore gc`). */
  gc: boolean;
}
