import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  type Role,
} from '@aws-sdk/client-iam';
import type { AwsClients } from './clients.js';
import { awsCall, isNotFound } from './errors.js';

export async function getRole(
  clients: AwsClients,
  name: string,
  signal: AbortSignal,
): Promise<Role | undefined> {
  const iam = await clients.iam();
  try {
    const out = await awsCall('GetRole', () =>
      iam.send(new GetRoleCommand({ RoleName: name }), { abortSignal: signal }),
    );
    return out.Role;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function createRole(
  clients: AwsClients,
  input: { name: string; description: string; trustPolicy: unknown; tags: Record<string, string> },
  signal: AbortSignal,
): Promise<Role> {
  const iam = await clients.iam();
  const out = await awsCall('CreateRole', () =>
    iam.send(
      new CreateRoleCommand({
        RoleName: input.name,
        Description: input.description,
        AssumeRolePolicyDocument: JSON.stringify(input.trustPolicy),
        Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.Role) throw new Error(`CreateRole ${input.name} returned no role`);
  return out.Role;
}

/** The inline policy document (parsed), or undefined when the role has no policy of that name. */
export async function getRolePolicy(
  clients: AwsClients,
  role: string,
  policy: string,
  signal: AbortSignal,
): Promise<unknown> {
  const iam = await clients.iam();
  try {
    const out = await awsCall('GetRolePolicy', () =>
      iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policy }), { abortSignal: signal }),
    );
    // IAM returns the document URL-encoded.
    return out.PolicyDocument ? JSON.parse(decodeURIComponent(out.PolicyDocument)) : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function putRolePolicy(
  clients: AwsClients,
  role: string,
  policy: string,
  document: unknown,
  signal: AbortSignal,
): Promise<void> {
  const iam = await clients.iam();
  await awsCall('PutRolePolicy', () =>
    iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: policy,
        PolicyDocument: JSON.stringify(document),
      }),
      { abortSignal: signal },
    ),
  );
}
