import { z } from 'zod';

/** `--packet-*` flags (mantle's ore spellings as aliases), env vars and defaults. */
export const packetOptions = z.object({
  configFile: z
    .string()
    .optional()
    .describe(
      'mantle profile file {"<profile>": {"api_key": "…", "project": "…"}} (default ~/.config/packet.json)',
    )
    .meta({ aliases: ['--config-file'], valueName: 'FILE' }),
  profile: z
    .string()
    .optional()
    .describe('profile of the config file (default: default)')
    .meta({ aliases: ['--profile'], valueName: 'NAME' }),
  apiKey: z
    .string()
    .optional()
    .describe('API key (else $METAL_AUTH_TOKEN, then the config file)')
    .meta({ env: 'METAL_AUTH_TOKEN', aliases: ['--api-key'], secret: true, valueName: 'KEY' }),
  project: z
    .string()
    .optional()
    .describe('project id (else $METAL_PROJECT_ID, then the config file)')
    .meta({ env: 'METAL_PROJECT_ID', aliases: ['--project'], valueName: 'UUID' }),
  metro: z
    .string()
    .regex(/^[a-z]{2}$/, 'must be a metro code like sv')
    .default('sv')
    .describe('metro of the devices (Equinix retired facilities in 2023; mantle’s sjc1 is in sv)')
    .meta({ valueName: 'CODE' }),
  facility: z
    .string()
    .optional()
    .describe('mantle’s facility flag: only its metro is used (sjc1 → sv)')
    .meta({ valueName: 'CODE' }),
  plan: z
    .string()
    .optional()
    .describe(
      'device plan (default per board: c3.small.x86, c3.large.arm64; mantle’s baremetal_* are retired)',
    )
    .meta({ valueName: 'SLUG' }),
  board: z.enum(['amd64-usr', 'arm64-usr']).default('amd64-usr').describe('board of the image'),
  installerImageBaseUrl: z
    .string()
    .optional()
    .describe('http(s) base URL of the PXE kernel and initramfs (default: Flatcar stable of the board)')
    .meta({ valueName: 'URL' }),
  imageUrl: z
    .string()
    .optional()
    .describe('URL of the packet image the installer writes (default: Flatcar alpha of the board)')
    .meta({ valueName: 'URL' }),
  storageUrl: z
    .string()
    .regex(/^(s3|gs):\/\/[^/]+(\/.*)?$/, 'must be s3://bucket/prefix or gs://bucket/prefix')
    .optional()
    .describe('where the installer config and iPXE script are staged for the device (s3://bucket/prefix)')
    .meta({ aliases: ['--storage-url'], valueName: 'URL' }),
  storageEndpoint: z
    .url()
    .optional()
    .describe('S3 endpoint of --packet-storage-url (an S3-compatible store or an emulator)')
    .meta({ valueName: 'URL' }),
  storageRegion: z
    .string()
    .default('us-east-1')
    .describe('S3 region of --packet-storage-url')
    .meta({ valueName: 'REGION' }),
  sosEndpoint: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'must be host or host:port')
    .optional()
    .describe('SOS (serial over SSH) endpoint for device consoles (default: the device’s sos host, port 22)')
    .meta({ valueName: 'HOST[:PORT]' }),
  pollInterval: z
    .string()
    .default('30s')
    .describe(
      'how often to ask whether a device is active, and (at most 5s) to dial its install port (mantle: 30s)',
    )
    .meta({ valueName: 'DURATION' }),
  endpoint: z
    .url()
    .default('https://api.equinix.com/metal/v1')
    .describe('API endpoint: a proxy or an emulator')
    .meta({ valueName: 'URL' }),
});

export type PacketOptions = z.output<typeof packetOptions>;

/** mantle's facilities by the metro Equinix moved them to. */
const facilityMetros: Record<string, string> = {
  sjc1: 'sv',
  sv15: 'sv',
  dfw2: 'da',
  da11: 'da',
  ewr1: 'ny',
  ny5: 'ny',
  ams1: 'am',
  am6: 'am',
};

export function metroOf(o: PacketOptions): string {
  if (o.facility) return facilityMetros[o.facility] ?? o.facility.replace(/\d+$/, '').slice(0, 2);
  return o.metro;
}

/** mantle's board table (§5.6), on Flatcar's hosts: CoreOS's release.core-os.net is gone. */
export const boards = {
  'amd64-usr': { console: 'ttyS1,115200', plan: 'c3.small.x86', installerChannel: 'stable' },
  'arm64-usr': { console: 'ttyAMA0,115200', plan: 'c3.large.arm64', installerChannel: 'beta' },
} as const;

export function boardSettings(o: PacketOptions) {
  const b = boards[o.board];
  return {
    console: b.console,
    plan: o.plan ?? b.plan,
    installerBaseUrl:
      o.installerImageBaseUrl ?? `https://${b.installerChannel}.release.flatcar-linux.net/${o.board}/current`,
    imageUrl:
      o.imageUrl ??
      `https://alpha.release.flatcar-linux.net/${o.board}/current/flatcar_production_packet_image.bin.bz2`,
  };
}
