import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is `packages/emulators/{src,dist}/specs/locate.{ts,js}`. */
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Where the providers' specs are: `$KOLA_SPECS_DIR`, else `shared/specs` beside the repository (the
 * workplace's copy, read at run time rather than vendored).
 */
export function specsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KOLA_SPECS_DIR || join(repoRoot, '..', 'shared', 'specs');
}

/** The files of the specs the kit knows, relative to specsDir(). */
export const specFiles = {
  digitalocean: 'digitalocean/DigitalOcean-public.v2.bundled.yaml',
  'equinix-metal': 'equinix-metal/equinix-metal-v1.bundled.yaml',
  'gcp-compute': 'gcp/compute.v1.json',
  'gcp-storage': 'gcp/storage.v1.json',
  // the first of azureSpecFiles: the set is there when it is
  azure:
    'azure/specification/resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json',
} as const;

/** Azure Resource Manager: one Swagger file per resource provider, each at one api-version (see SOURCE.md). */
export const azureSpecFiles = [
  specFiles.azure,
  'azure/specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/virtualMachine.json',
  'azure/specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/image.json',
  'azure/specification/compute/resource-manager/Microsoft.Compute/DiskRP/stable/2023-10-02/disk.json',
  'azure/specification/network/resource-manager/Microsoft.Network/stable/2024-01-01/virtualNetwork.json',
  'azure/specification/network/resource-manager/Microsoft.Network/stable/2024-01-01/publicIpAddress.json',
  'azure/specification/network/resource-manager/Microsoft.Network/stable/2024-01-01/networkInterface.json',
  'azure/specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json',
];

export type KnownSpec = keyof typeof specFiles;

/** Why validation against `name` is off (the file is missing), or undefined when it is available. */
export function specUnavailable(name: KnownSpec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = join(specsDir(env), specFiles[name]);
  if (existsSync(file)) return undefined;
  return `the ${name} spec is not at ${file} (set KOLA_SPECS_DIR to the folder holding the providers' specs)`;
}
