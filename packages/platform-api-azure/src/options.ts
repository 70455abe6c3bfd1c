import { z } from 'zod';

/** `--azure-*` flags (mantle's names), env vars and defaults. */
export const azureOptions = z.object({
  profile: z
    .string()
    .optional()
    .describe('mantle/xplat-cli profile file (optional; default ~/.azure/azureProfile.json when it exists)')
    .meta({ valueName: 'FILE' }),
  auth: z
    .string()
    .optional()
    .describe(
      'SDK auth file {clientId, clientSecret, subscriptionId, tenantId, …} (else $AZURE_AUTH_LOCATION, ~/.azure/credentials.json, then the standard credential chain)',
    )
    .meta({ env: 'AZURE_AUTH_LOCATION', valueName: 'FILE' }),
  subscription: z
    .string()
    .optional()
    .describe('subscription name or id (default: the auth file’s, else the profile’s default)')
    .meta({ env: 'AZURE_SUBSCRIPTION_ID', valueName: 'NAME|ID' }),
  location: z
    .string()
    .regex(/^[a-z0-9]+$/, 'must be a location name like westus')
    .default('westus')
    .describe('Azure location (region)')
    .meta({ valueName: 'LOCATION' }),
  size: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/, 'must be a VM size like Standard_D2s_v3')
    .default('Standard_D2s_v3')
    .describe('VM size')
    .meta({ valueName: 'SIZE' }),
  image: z
    .string()
    .optional()
    .describe('image: a managed image id, a gallery image version id, or publisher:offer:sku:version')
    .meta({ env: 'KOLA_AZURE_IMAGE', valueName: 'IMAGE' }),
  diskUri: z
    .string()
    .optional()
    .describe('mantle’s custom VHD: an image resource id to boot (alias of --azure-image with an id)')
    .meta({ valueName: 'ID' }),
  endpoint: z
    .url()
    .default('https://management.azure.com')
    .describe('Resource Manager endpoint (sovereign clouds, a proxy or an emulator)')
    .meta({ valueName: 'URL' }),
  authorityHost: z
    .url()
    .optional()
    .describe(
      'Microsoft Entra authority host (default: the auth file’s activeDirectoryEndpointUrl, else login.microsoftonline.com)',
    )
    .meta({ env: 'AZURE_AUTHORITY_HOST', valueName: 'URL' }),
  pollInterval: z
    .string()
    .default('5s')
    .describe('how often to poll a long-running operation when Azure gives no Retry-After')
    .meta({ valueName: 'DURATION' }),
  blobEndpoint: z
    .url()
    .optional()
    .describe(
      'blob endpoint template, {account} replaced by the storage account (default https://{account}.blob.core.windows.net; an emulator: http://127.0.0.1:10000/{account})',
    )
    .meta({ valueName: 'URL' }),
});

export type AzureOptions = z.output<typeof azureOptions>;

/** The blob service URL of a storage account under these options. */
export function blobServiceUrl(o: AzureOptions, account: string): string {
  const template = o.blobEndpoint ?? 'https://{account}.blob.core.windows.net';
  return template.includes('{account}')
    ? template.replace('{account}', account)
    : `${template.replace(/\/+$/, '')}/${account}`;
}
