import { type Flight, type LedgerEntry, MantleError, type PlatformContext } from '@mantle/cluster';
import type { AwsOptions } from './options.js';

export const AwsFlight = {
  async create(_options: AwsOptions, _ctx: PlatformContext): Promise<Flight> {
    throw new MantleError('aws.flight.todo', 'aws flight: not written yet');
  },
};

export async function destroyAwsLedgerEntry(
  _e: LedgerEntry,
  _o: AwsOptions,
  _c: PlatformContext,
): Promise<void> {
  throw new MantleError('aws.flight.todo', 'aws flight: not written yet');
}
