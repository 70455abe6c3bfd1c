import { cleanupErrorsOf, errorMessage, type Flight, type PlatformOptionsSchema } from '@mantle/cluster';
import type { RunTestsOptions } from './runner.js';

/**
 * The run's one call into the platform: makes the flight and reads the properties its tests see —
 * the platform's from the options, with what the flight resolved (the AMI behind a name, the image
 * it built) over them.
 */
export async function createRunFlight<S extends PlatformOptionsSchema>(
  options: Pick<RunTestsOptions<S>, 'platform' | 'platformOptions' | 'ctx'>,
): Promise<{ flight: Flight; properties: Record<string, unknown> }> {
  const flight = await options.platform.createFlight(options.platformOptions, options.ctx);
  return {
    flight,
    properties: { ...options.platform.properties(options.platformOptions), ...flight.properties() },
  };
}

/**
 * The run's flight, made when the first test asks for it (a run whose tests are all skipped makes
 * none); every later test gets the same one, or the same creation failure.
 */
export class LazyFlight {
  /** The platform's properties, once the flight exists. */
  properties: Record<string, unknown> = {};
  private flight: Flight | undefined;
  private creating: Promise<Flight> | undefined;

  constructor(private readonly options: RunTestsOptions) {}

  get(): Promise<Flight> {
    this.creating ??= (async () => {
      const { flight, properties } = await createRunFlight(this.options);
      // kept before onFlight runs: a flight whose callback fails is still destroyed
      this.flight = flight;
      this.properties = properties;
      await this.options.onFlight?.(flight, properties);
      return flight;
    })();
    return this.creating;
  }

  /**
   * Destroys the flight, if one was made and `keep` is false (machines kept with --no-remove need its
   * key and network). Returns what may be left behind, each also logged: the flight's destroy failing,
   * or a failed creation that could not undo its partial work. A creation failure that no test reported
   * (`creationReported` false) is returned too.
   */
  async destroy(keep: boolean, creationReported: boolean): Promise<string[]> {
    const errors: string[] = [];
    try {
      await this.creating;
    } catch (e) {
      if (!creationReported) errors.push(`flight cleanup: ${errorMessage(e)}`);
      else
        errors.push(
          ...cleanupErrorsOf(e).map((c) => `cleanup after the failed flight creation: ${errorMessage(c)}`),
        );
    }
    if (this.flight && !keep) {
      try {
        await this.flight.destroy();
      } catch (e) {
        errors.push(`flight cleanup: ${errorMessage(e)}`);
      }
    }
    for (const message of errors) this.options.ctx.log.error(message);
    return errors;
  }
}
