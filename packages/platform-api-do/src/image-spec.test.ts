import { ConfigError } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import type { DoClient } from './api/client.js';
import type { Image } from './api/schemas.js';
import { parseImageSpec, resolveImage } from './image-spec.js';

const image = (id: number, name: string, regions: string[], extra: Partial<Image> = {}): Image => ({
  id,
  name,
  regions,
  ...extra,
});

/** The two calls resolveImage makes, answered from a list. */
function clientWith(images: Image[], publicImages: Image[] = []): DoClient {
  return {
    userImages: async () => images,
    image: async (ref: number | string) =>
      [...images, ...publicImages].find((i) => i.id === ref || i.slug === ref),
  } as unknown as DoClient;
}
const signal = AbortSignal.timeout(5000);

describe('--do-image (mantle’s rules)', () => {
  it('parses ids, channels and names', () => {
    expect(parseImageSpec('12345')).toEqual({ kind: 'id', id: 12345 });
    expect(parseImageSpec(undefined)).toEqual({ kind: 'slug', slug: 'coreos-stable' });
    expect(parseImageSpec('')).toEqual({ kind: 'slug', slug: 'coreos-stable' });
    expect(parseImageSpec('alpha')).toEqual({ kind: 'slug', slug: 'coreos-alpha' });
    expect(parseImageSpec('beta')).toEqual({ kind: 'slug', slug: 'coreos-beta' });
    expect(parseImageSpec('flatcar-4081')).toEqual({ kind: 'name', name: 'flatcar-4081' });
    expect(parseImageSpec('12a')).toEqual({ kind: 'name', name: '12a' });
  });

  it('resolves a unique name in the region', async () => {
    const c = clientWith([image(1, 'fc', ['nyc3']), image(2, 'fc', ['sfo2']), image(3, 'other', ['sfo2'])]);
    expect(await resolveImage(c, 'fc', 'sfo2', signal)).toEqual({ ref: 2, id: 2, name: 'fc' });
  });

  it('refuses an ambiguous or absent name, saying where it is', async () => {
    const c = clientWith([image(1, 'fc', ['sfo2']), image(2, 'fc', ['sfo2']), image(4, 'gone', ['ams3'])]);
    await expect(resolveImage(c, 'fc', 'sfo2', signal)).rejects.toThrow(
      '--do-image "fc": 2 images of that name in sfo2 (1, 2); give the id',
    );
    const err = await resolveImage(c, 'gone', 'sfo2', signal).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('--do-image "gone": no image of yours with that name in sfo2 (it is in ams3)');
  });

  it('checks that an id or slug exists and is in the region', async () => {
    const c = clientWith(
      [image(7, 'x', ['sfo2'])],
      [image(9, 'Container Linux', ['nyc3'], { slug: 'coreos-beta' })],
    );
    expect(await resolveImage(c, '7', 'sfo2', signal)).toEqual({ ref: 7, id: 7 });
    await expect(resolveImage(c, '8', 'sfo2', signal)).rejects.toThrow('DigitalOcean has no image 8');
    await expect(resolveImage(c, undefined, 'sfo2', signal)).rejects.toThrow(
      '--do-image (default stable): DigitalOcean has no image coreos-stable (the coreos-* slugs were retired; give an image id or name)',
    );
    await expect(resolveImage(c, 'beta', 'sfo2', signal)).rejects.toThrow(
      'image 9 is not in sfo2 (it is in nyc3)',
    );
    expect(await resolveImage(c, 'beta', 'nyc3', signal)).toEqual({
      ref: 'coreos-beta',
      id: 9,
      slug: 'coreos-beta',
    });
  });
});
