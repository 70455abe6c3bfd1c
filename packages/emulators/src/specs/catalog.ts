import { join } from 'node:path';
import { loadDiscoverySpec } from './discovery.js';
import { azureSpecFiles, type KnownSpec, specFiles, specsDir, specUnavailable } from './locate.js';
import { dropUntypedNullable, loadOpenApiSpec } from './openapi.js';
import { loadSwaggerSpec } from './swagger.js';
import type { SpecValidator } from './validator.js';

const announced = new Set<KnownSpec>();

/**
 * The validator for one of the providers' specs, or undefined when the specs folder does not have it:
 * then validation is off, which is said once per process on `log` (stderr by default).
 */
export async function loadSpec(
  name: KnownSpec,
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<SpecValidator | undefined> {
  const env = options.env ?? process.env;
  const missing = specUnavailable(name, env);
  if (missing) {
    if (!announced.has(name)) {
      announced.add(name);
      (options.log ?? ((line) => process.stderr.write(`${line}\n`)))(
        `emulators: request and response validation is OFF for ${name}: ${missing}`,
      );
    }
    return undefined;
  }
  const file = join(specsDir(env), specFiles[name]);
  switch (name) {
    case 'digitalocean':
      return loadOpenApiSpec({ name, file, preprocess: { version: 1, apply: dropUntypedNullable } });
    case 'equinix-metal':
      return loadOpenApiSpec({ name, file });
    case 'gcp-compute':
    case 'gcp-storage':
      return loadDiscoverySpec({ name, file });
    case 'azure':
      return loadSwaggerSpec({ name, files: azureSpecFiles.map((f) => join(specsDir(env), f)) });
  }
}
