import { definePlatform } from '@mantle/cluster';
import { UsageError } from '@mantle/cluster/errors';
import { azureCommands } from './commands/index.js';
import { type AzureOptions, azureOptions } from './options.js';

/**
 * Azure Resource Manager: one resource group per flight (tagged createdBy=mantle, createdAt, the run),
 * a vnet per cluster, a public IP, NIC and VM per machine; `ore azure` verbs for VHD blobs and images,
 * and GC of resource groups. Nothing but zod loads until a flight, verb or gc runs.
 */
export const platform = definePlatform({
  name: 'azure',
  description: 'Azure Resource Manager VMs (--azure-endpoint and --azure-authority-host for emulators)',
  options: azureOptions,
  async createFlight() {
    throw new UsageError('kola run -p azure: flights are not implemented yet on this branch');
  },
  properties: (o: AzureOptions) => ({
    subscription: o.subscription,
    location: o.location,
    size: o.size,
    image: o.image ?? o.diskUri,
  }),
  defaultParallelism: () => 4,
  async gc(options, ctx) {
    const { openAzureGc } = await import('./gc/index.js');
    return openAzureGc(options, ctx);
  },
  commands: azureCommands,
});

export { type AzureOptions, azureOptions, blobServiceUrl } from './options.js';
