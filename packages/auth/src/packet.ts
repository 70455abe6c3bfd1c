import { CredentialsError } from '@mantle/cluster';
import { z } from 'zod';
import { type EnvRecord, profileFileSource, resolveCredentials } from './credentials.js';
import { defaultConfigPath, MissingConfigFileError } from './profile-file.js';

/**
 * The Packet (Equinix Metal) reader: an API key and a project id, each from (first found wins)
 *   1. `--packet-api-key` / `--packet-project`;
 *   2. `$METAL_AUTH_TOKEN` / `$METAL_PROJECT_ID` (the names Equinix's metal-cli and Terraform use);
 *   3. mantle's `~/.config/packet.json`, `{"<profile>": {"api_key": "…", "project": "<uuid>"}}`
 *      (`--packet-config-file`, `--packet-profile`, default `default`).
 * As in mantle, the file is read only when one of the two is still missing. A file named by flag must
 * exist. Every problem is one line naming the file, the profile and the field; the key is a secret.
 */

export const PACKET_CONFIG_FILE = 'packet.json';
export const packetEnvVars = { apiKey: 'METAL_AUTH_TOKEN', project: 'METAL_PROJECT_ID' } as const;

// mantle's struct has only these two; other keys (comments, newer tools' fields) are tolerated.
const packetProfileSchema = z.looseObject({
  api_key: z.string().min(1, 'must not be empty').optional(),
  project: z.string().min(1, 'must not be empty').optional(),
});

export interface PacketCredentialsOptions {
  apiKey?: string | undefined;
  project?: string | undefined;
  /** `--packet-config-file`; `~` is expanded. */
  configFile?: string | undefined;
  profile?: string | undefined;
  env?: EnvRecord;
  homeDir?: string;
  onWarning?: (message: string) => void;
}

export interface PacketCredentials {
  apiKey: string;
  project: string;
  /** Where each came from. */
  sources: { apiKey: string; project: string };
  /** The file read, when it was. */
  path?: string;
  profile?: string;
  warnings: string[];
}

export function resolvePacketCredentials(opts: PacketCredentialsOptions = {}): PacketCredentials {
  const explicitFile = opts.configFile !== undefined && opts.configFile !== '';
  const source = profileFileSource({
    path: explicitFile ? opts.configFile! : defaultConfigPath(PACKET_CONFIG_FILE, opts.homeDir),
    platform: 'packet',
    schema: packetProfileSchema,
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(opts.homeDir !== undefined ? { homeDir: opts.homeDir } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  // A file the operator named must be there: its absence is its own error, not a "missing field".
  const file = explicitFile
    ? {
        label: source.label,
        read: () => {
          try {
            return source.read();
          } catch (e) {
            if (e instanceof MissingConfigFileError) throw new CredentialsError(e.message, { cause: e });
            throw e;
          }
        },
      }
    : source;
  const resolved = resolveCredentials({
    platform: 'packet',
    ...(opts.env ? { env: opts.env } : {}),
    file,
    fields: {
      apiKey: {
        flag: opts.apiKey,
        flagName: '--packet-api-key',
        env: packetEnvVars.apiKey,
        fileField: 'api_key',
        secret: true,
        required: true,
        description: 'API key',
      },
      project: {
        flag: opts.project,
        flagName: '--packet-project',
        env: packetEnvVars.project,
        fileField: 'project',
        required: true,
        description: 'project id',
      },
    },
  });
  const out: PacketCredentials = {
    apiKey: resolved.values.apiKey,
    project: resolved.values.project,
    sources: resolved.sources,
    warnings: resolved.warnings,
  };
  if (resolved.path !== undefined) out.path = resolved.path;
  if (resolved.profile !== undefined) out.profile = resolved.profile;
  return out;
}
