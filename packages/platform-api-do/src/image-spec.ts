import { ConfigError } from '@mantle/cluster';
import type { DoClient } from './api/client.js';
import type { Image } from './api/schemas.js';

/**
 * mantle's `--do-image` rules: a number is an image id; nothing means `stable`; `alpha`, `beta` and
 * `stable` are the slugs `coreos-<channel>`; anything else is the name of one of the account's
 * images, which must be unique in the region.
 */
export type ImageSpec =
  | { kind: 'id'; id: number }
  | { kind: 'slug'; slug: string }
  | { kind: 'name'; name: string };

export function parseImageSpec(spec: string | undefined): ImageSpec {
  const s = (spec ?? '').trim();
  if (/^\d+$/.test(s)) return { kind: 'id', id: Number(s) };
  if (s === '' || s === 'alpha' || s === 'beta' || s === 'stable')
    return { kind: 'slug', slug: `coreos-${s || 'stable'}` };
  return { kind: 'name', name: s };
}

export interface ResolvedImage {
  /** What droplet create is given: the id, or the slug. */
  ref: number | string;
  id?: number;
  slug?: string;
  /** The spec it came from, when it was a name. */
  name?: string;
}

/** The image a spec names, checked to exist (and, where DigitalOcean says, to be in the region). */
export async function resolveImage(
  client: DoClient,
  spec: string | undefined,
  region: string,
  signal: AbortSignal,
): Promise<ResolvedImage> {
  const parsed = parseImageSpec(spec);
  const where = spec ? `--do-image ${JSON.stringify(spec)}` : '--do-image (default stable)';
  if (parsed.kind === 'name') {
    const named = (await client.userImages(signal)).filter((i) => i.name === parsed.name);
    const here = named.filter((i) => (i.regions ?? []).includes(region));
    if (here.length === 1) return { ref: here[0]!.id, id: here[0]!.id, name: parsed.name };
    if (here.length > 1)
      throw new ConfigError(
        `${where}: ${here.length} images of that name in ${region} (${here.map((i) => i.id).join(', ')}); give the id`,
      );
    const elsewhere = named.flatMap((i) => i.regions ?? []);
    throw new ConfigError(
      `${where}: no image of yours with that name in ${region}${elsewhere.length ? ` (it is in ${[...new Set(elsewhere)].join(', ')})` : ''}`,
    );
  }
  const ref = parsed.kind === 'id' ? parsed.id : parsed.slug;
  const image = await client.image(ref, signal);
  if (!image)
    throw new ConfigError(
      `${where}: DigitalOcean has no image ${ref}${parsed.kind === 'slug' ? ' (the coreos-* slugs were retired; give an image id or name)' : ''}`,
    );
  checkRegion(image, region, where);
  return { ref, id: image.id, ...(image.slug ? { slug: image.slug } : {}) };
}

function checkRegion(image: Image, region: string, where: string): void {
  const regions = image.regions ?? [];
  if (regions.length > 0 && !regions.includes(region))
    throw new ConfigError(`${where}: image ${image.id} is not in ${region} (it is in ${regions.join(', ')})`);
}
