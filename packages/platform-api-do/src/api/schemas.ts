import { z } from 'zod';

/**
 * What kola and ore read of DigitalOcean's objects (../shared/specs/digitalocean). Loose objects:
 * the API adds fields over time, and only these are relied on.
 */

const region = z.looseObject({ slug: z.string(), name: z.string().optional() });

export const dropletSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  /** new → active; off after a power-off; archive = being removed for non-payment. */
  status: z.string(),
  created_at: z.string(),
  tags: z.array(z.string()).nullish(),
  /** The images (type snapshot) taken of this droplet. */
  snapshot_ids: z.array(z.number().int()).nullish(),
  region: region.optional(),
  image: z.looseObject({ id: z.number().int().optional(), slug: z.string().nullish() }).optional(),
  networks: z
    .looseObject({
      v4: z.array(z.looseObject({ ip_address: z.string(), type: z.string() })).nullish(),
      v6: z.array(z.looseObject({ ip_address: z.string(), type: z.string() })).nullish(),
    })
    .optional(),
});
export type Droplet = z.output<typeof dropletSchema>;

export const imageSchema = z.looseObject({
  id: z.number().int(),
  name: z.string().nullish(),
  /** base, snapshot, backup, custom, admin */
  type: z.string().optional(),
  slug: z.string().nullish(),
  public: z.boolean().optional(),
  regions: z.array(z.string()).nullish(),
  created_at: z.string().optional(),
  tags: z.array(z.string()).nullish(),
  /** NEW, pending, available, deleted, retired */
  status: z.string().optional(),
  error_message: z.string().nullish(),
  distribution: z.string().nullish(),
});
export type Image = z.output<typeof imageSchema>;

export const sshKeySchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  fingerprint: z.string(),
  public_key: z.string().optional(),
});
export type SshKey = z.output<typeof sshKeySchema>;

export const actionSchema = z.looseObject({
  id: z.number().int(),
  /** in-progress, completed, errored */
  status: z.string(),
  type: z.string(),
  resource_id: z.number().int().nullish(),
  resource_type: z.string().optional(),
  region_slug: z.string().nullish(),
});
export type Action = z.output<typeof actionSchema>;

export const regionSchema = z.looseObject({
  slug: z.string(),
  name: z.string(),
  available: z.boolean(),
  sizes: z.array(z.string()).optional(),
});
export type Region = z.output<typeof regionSchema>;

export const accountSchema = z.looseObject({
  uuid: z.string(),
  email: z.string().optional(),
  status: z.string().optional(),
  droplet_limit: z.number().optional(),
});
export type Account = z.output<typeof accountSchema>;

export const tagSchema = z.looseObject({ name: z.string() });

/** The public and private IPv4 of a droplet, when it has them. */
export function dropletAddresses(d: Droplet): { publicIp?: string; privateIp?: string; ipv6?: string } {
  const v4 = d.networks?.v4 ?? [];
  const publicIp = v4.find((n) => n.type === 'public')?.ip_address;
  const privateIp = v4.find((n) => n.type === 'private')?.ip_address;
  const ipv6 = d.networks?.v6?.find((n) => n.type === 'public')?.ip_address;
  return {
    ...(publicIp ? { publicIp } : {}),
    ...(privateIp ? { privateIp } : {}),
    ...(ipv6 ? { ipv6 } : {}),
  };
}
