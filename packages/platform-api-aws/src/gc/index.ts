import { type GcOpenContext, type GcSession, MantleError } from '@mantle/cluster';
import type { AwsOptions } from '../options.js';

export async function openAwsGc(_options: AwsOptions, _ctx: GcOpenContext): Promise<GcSession> {
  throw new MantleError('aws.gc.todo', 'aws gc: not written yet');
}
