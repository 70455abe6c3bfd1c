import { z } from 'zod';

/**
 * What kola and ore read of Equinix Metal's objects (../shared/specs/equinix-metal). Loose objects:
 * only these fields are relied on.
 */

export const ipAddressSchema = z.looseObject({
  address: z.string(),
  address_family: z.number().int().optional(),
  public: z.boolean().optional(),
});

export const deviceSchema = z.looseObject({
  id: z.string(),
  hostname: z.string().optional(),
  /** queued → provisioning → active; failed; deprovisioning. */
  state: z.string().optional(),
  locked: z.boolean().optional(),
  tags: z.array(z.string()).nullish(),
  created_at: z.string().optional(),
  ip_addresses: z.array(ipAddressSchema).nullish(),
  metro: z.looseObject({ code: z.string().optional() }).nullish(),
  facility: z.looseObject({ code: z.string().optional() }).nullish(),
  /** The SOS (serial over SSH) host of the device's site. */
  sos: z.string().optional(),
});
export type Device = z.output<typeof deviceSchema>;

export const sshKeySchema = z.looseObject({
  id: z.string(),
  label: z.string().optional(),
  key: z.string().optional(),
  fingerprint: z.string().optional(),
  created_at: z.string().optional(),
});
export type SshKey = z.output<typeof sshKeySchema>;

export const projectSchema = z.looseObject({ id: z.string(), name: z.string().optional() });
export type Project = z.output<typeof projectSchema>;

/** The device's first address of the family and kind, if it has one yet. */
export function deviceAddress(d: Device, kind: 'public' | 'private'): string | undefined {
  return d.ip_addresses?.find(
    (a) => (a.address_family ?? 4) === 4 && (a.public ?? false) === (kind === 'public'),
  )?.address;
}
