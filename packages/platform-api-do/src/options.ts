import { z } from 'zod';

/** `--do-*` flags (and mantle's ore spellings as aliases), env vars and defaults. */
export const doOptions = z.object({
  configFile: z
    .string()
    .optional()
    .describe('mantle profile file {"<profile>": {"token": "…"}} (default ~/.config/digitalocean.json)')
    .meta({ aliases: ['--config-file'], valueName: 'FILE' }),
  profile: z
    .string()
    .optional()
    .describe('profile of the config file, or the doctl context when only doctl is set up (default: default)')
    .meta({ aliases: ['--profile'], valueName: 'NAME' }),
  token: z
    .string()
    .optional()
    .describe(
      'API token (else $DIGITALOCEAN_TOKEN, $DIGITALOCEAN_ACCESS_TOKEN, the config file, doctl’s config.yaml)',
    )
    .meta({ env: 'DIGITALOCEAN_TOKEN', aliases: ['--token'], secret: true, valueName: 'TOKEN' }),
  region: z
    .string()
    .regex(/^[a-z]{3}\d$/, 'must be a region slug like sfo2')
    .default('sfo2')
    .describe('region of the droplets')
    .meta({ valueName: 'SLUG' }),
  size: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a size slug like s-1vcpu-1gb')
    .default('s-1vcpu-1gb')
    .describe('droplet size slug (mantle’s 1gb is a retired slug)')
    .meta({ valueName: 'SLUG' }),
  image: z
    .string()
    .optional()
    .describe(
      'image to boot: a numeric id, alpha|beta|stable (slug coreos-<channel>), or the name of one of your images in the region (default: stable)',
    )
    .meta({ env: 'KOLA_DO_IMAGE', valueName: 'IMAGE' }),
  endpoint: z
    .url()
    .default('https://api.digitalocean.com')
    .describe('API endpoint (paths /v2/…): a proxy or an emulator')
    .meta({ valueName: 'URL' }),
  spacesEndpoint: z
    .url()
    .optional()
    .describe(
      'Spaces (S3) endpoint for staging images (default https://<spaces-region>.digitaloceanspaces.com)',
    )
    .meta({ valueName: 'URL' }),
  spacesRegion: z
    .string()
    .regex(/^[a-z]{3}\d$/, 'must be a region slug like sfo3')
    .optional()
    .describe('Spaces region (default: --do-region)')
    .meta({ valueName: 'SLUG' }),
  spacesBucket: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be a bucket name (3-63 lowercase letters, digits, . or -)',
    )
    .optional()
    .describe('Spaces bucket where ore do create-image --file stages the image')
    .meta({ valueName: 'BUCKET' }),
  spacesAccessKeyId: z
    .string()
    .optional()
    .describe('Spaces access key id')
    .meta({ env: 'SPACES_ACCESS_KEY_ID', secret: true, valueName: 'KEY' }),
  spacesSecretAccessKey: z
    .string()
    .optional()
    .describe('Spaces secret key')
    .meta({ env: 'SPACES_SECRET_ACCESS_KEY', secret: true, valueName: 'SECRET' }),
});

export type DoOptions = z.output<typeof doOptions>;

/** The Spaces region and endpoint the options name (the region defaults to the droplet region). */
export function spacesLocation(o: DoOptions): { region: string; endpoint: string } {
  const region = o.spacesRegion ?? o.region;
  return { region, endpoint: o.spacesEndpoint ?? `https://${region}.digitaloceanspaces.com` };
}
