import { definePlatform, type LedgerEntry } from '@mantle/cluster';
import { awsProperties } from './ami.js';
import { awsCommands } from './commands/index.js';
import { type AwsOptions, awsOptions } from './options.js';

/**
 * Amazon EC2: one key pair per flight, the `kola` security group and its network (created once per
 * account and region, tagged CreatedBy=mantle), instances per test; `ore aws` verbs for images and
 * GC. The SDK loads only when a flight, verb or gc runs.
 */
export const platform = definePlatform({
  name: 'aws',
  description: 'Amazon EC2 instances (SDK v3; --aws-endpoint for private endpoints and emulators)',
  options: awsOptions,
  async createFlight(options, ctx) {
    const { AwsFlight } = await import('./flight.js');
    return AwsFlight.create(options, ctx);
  },
  properties: awsProperties,
  // Clouds are bound by quota, not cores: a few tests at once unless -j says otherwise.
  defaultParallelism: () => 4,
  async destroyLedgerEntry(entry: LedgerEntry, options: AwsOptions, ctx) {
    const { destroyAwsLedgerEntry } = await import('./flight.js');
    await destroyAwsLedgerEntry(entry, options, ctx);
  },
  async gc(options, ctx) {
    const { openAwsGc } = await import('./gc/index.js');
    return openAwsGc(options, ctx);
  },
  commands: awsCommands,
});

export { type AwsClients, createAwsClients } from './api/clients.js';
export { awsApiError, awsErrorCode, isNotFound } from './api/errors.js';
export { type AwsOptions, awsOptions } from './options.js';
