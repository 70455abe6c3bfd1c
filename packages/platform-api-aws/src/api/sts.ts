import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from './clients.js';
import { awsCall } from './errors.js';

/** The account id the credentials belong to (also the credentials preflight). */
export async function callerAccount(clients: AwsClients, signal: AbortSignal): Promise<string> {
  const sts = await clients.sts();
  const out = await awsCall('GetCallerIdentity', () =>
    sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal }),
  );
  if (!out.Account) throw new Error('GetCallerIdentity returned no account');
  return out.Account;
}
