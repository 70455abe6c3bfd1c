import { Agent } from 'node:https';
import { ComputeManagementClient } from '@azure/arm-compute';
import { ResourceManagementClient } from '@azure/arm-resources';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoViolations } from '../http/violations.js';
import { specUnavailable } from '../specs/locate.js';
import { type AzureEmulator, startAzureEmulator } from './emulator.js';

const unavailable = specUnavailable('azure');
if (unavailable) console.log(`the Azure emulator runs without validation: ${unavailable}`);

describe('the Azure emulator, with the real SDK clients', () => {
  let azure: AzureEmulator;
  let agent: Agent;
  let credential: ClientSecretCredential;
  const lines: string[] = [];

  beforeAll(async () => {
    azure = await startAzureEmulator({
      machines: 'none',
      blobs: false,
      log: (l) => lines.push(l),
      timing: { groupsPerPage: 3 },
    });
    // in-process clients trust the test certificate through their agent (a child process: NODE_EXTRA_CA_CERTS)
    agent = new Agent({ ca: azure.certificate.cert });
    credential = new ClientSecretCredential(azure.app.tenantId, azure.app.clientId, azure.app.clientSecret, {
      authorityHost: azure.endpoint,
      disableInstanceDiscovery: true,
      agent,
    });
  });
  afterAll(async () => {
    await azure?.stop();
    agent?.destroy();
  });

  const resources = () =>
    new ResourceManagementClient(credential, azure.subscriptionId, {
      endpoint: azure.endpoint,
      credentialScopes: [`${azure.endpoint}/.default`],
      agent,
    });

  it('creates, pages through, and deletes resource groups as a long-running operation', async () => {
    const client = resources();
    for (let i = 0; i < 7; i++)
      await client.resourceGroups.createOrUpdate(`kola-${i}`, {
        location: 'westus',
        tags: { createdBy: 'mantle', n: String(i) },
      });
    const names: string[] = [];
    for await (const group of client.resourceGroups.list()) names.push(group.name!);
    expect(names.sort()).toEqual(['kola-0', 'kola-1', 'kola-2', 'kola-3', 'kola-4', 'kola-5', 'kola-6']);
    // 7 groups at 3 a page: three list requests (two through nextLink)
    expect(azure.api.requests.counts().get('ResourceGroups_List')).toBe(3);
    expect((await client.resourceGroups.get('KOLA-3')).tags).toEqual({ createdBy: 'mantle', n: '3' });
    await client.resourceGroups.beginDeleteAndWait('kola-3', { updateIntervalInMs: 10 });
    expect((await client.resourceGroups.checkExistence('kola-3')).body).toBe(false);
    expect((await client.resourceGroups.checkExistence('kola-4')).body).toBe(true);
    expectNoViolations(azure);
  });

  it('refuses a wrong client secret', async () => {
    const wrong = new ClientSecretCredential(azure.app.tenantId, azure.app.clientId, 'not-the-secret', {
      authorityHost: azure.endpoint,
      disableInstanceDiscovery: true,
      agent,
    });
    const client = new ResourceManagementClient(wrong, azure.subscriptionId, {
      endpoint: azure.endpoint,
      agent,
    });
    await expect(client.resourceGroups.get('kola-0')).rejects.toThrow(/AADSTS7000215|Invalid client secret/);
  });

  it('creates an image and reports a VM under the modular compute client', async () => {
    const client = resources();
    await client.resourceGroups.createOrUpdate('kola-img', { location: 'westus' });
    const compute = new ComputeManagementClient(credential, azure.subscriptionId, {
      endpoint: azure.endpoint,
      agent,
    } as never);
    const image = await compute.images.beginCreateOrUpdateAndWait(
      'kola-img',
      'img-1',
      {
        location: 'westus',
        tags: { createdBy: 'mantle' },
        storageProfile: {
          osDisk: {
            osType: 'Linux',
            osState: 'Generalized',
            blobUri: 'https://kola.blob.core.windows.net/vhds/a.vhd',
          },
        },
      },
      { updateIntervalInMs: 10 },
    );
    expect(image.provisioningState).toBe('Succeeded');
    const listed: string[] = [];
    for await (const i of compute.images.list()) listed.push(i.name!);
    expect(listed).toEqual(['img-1']);
    await compute.images.beginDeleteAndWait('kola-img', 'img-1', { updateIntervalInMs: 10 });
    await expect(compute.images.get('kola-img', 'img-1')).rejects.toMatchObject({ statusCode: 404 });
    expectNoViolations(azure);
  });
});
