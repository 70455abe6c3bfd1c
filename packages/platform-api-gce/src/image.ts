import { ConfigError } from '@mantle/cluster';

/** Where Compute resource URLs start; image URLs are written with it whatever endpoint is used. */
export const computeBaseUrl = 'https://www.googleapis.com/compute/v1/';

/**
 * `--gce-image` as mantle normalises it: `projects/…` gets the Compute base URL in front; a short
 * name is an image of the project; anything else must already be a full Compute URL. A family
 * (`…/global/images/family/<f>`) stays one: the flight resolves it to the family's newest image.
 */
export function normaliseImage(image: string, project: string): string {
  const value = image.trim();
  if (value.startsWith('projects/')) return `${computeBaseUrl}${value}`;
  if (/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value))
    return `${computeBaseUrl}projects/${project}/global/images/${value}`;
  if (/^https:\/\/(www|compute)\.googleapis\.com\/compute\/v1\/projects\//.test(value)) return value;
  throw new ConfigError(
    `--gce-image ${JSON.stringify(image)}: not an image name, projects/<project>/global/images/<name>, or a Compute URL`,
  );
}

export interface ImageRef {
  project: string;
  /** The image's name, or undefined for a family. */
  image?: string;
  family?: string;
}

/** The project and image (or family) a normalised image URL names. */
export function parseImageUrl(url: string): ImageRef {
  const m = /\/projects\/([^/]+)\/global\/images\/(?:family\/([^/]+)|([^/]+))$/.exec(url);
  if (!m)
    throw new ConfigError(
      `--gce-image ${url}: not a Compute image URL (…/projects/<p>/global/images/<name>)`,
    );
  return m[2] ? { project: m[1]!, family: m[2] } : { project: m[1]!, image: m[3]! };
}

/**
 * mantle's gceSanitize for image names made from a path or version (`coreos/1234.0.0+x` →
 * `coreos-1234-0-0-x`): `.`, `+` and `/` become `-`, the first letter is lowercased, and a name that
 * does not start with a letter gets a `v` in front. Beyond mantle, the rest is lowercased and other
 * characters also become `-` (GCE would refuse them), and the name is cut to 63 characters.
 */
export function sanitizeImageName(name: string): string {
  let out = name.replace(/[.+/]/g, '-');
  out = out.charAt(0).toLowerCase() + out.slice(1);
  if (!/^[a-z]/.test(out)) out = `v${out}`;
  out = out.toLowerCase().replace(/[^-a-z0-9]/g, '-');
  out = out.slice(0, 63).replace(/-+$/, '');
  return out;
}

/** The image selfLink of `name` in `project`. */
export function imageUrl(project: string, name: string): string {
  return `${computeBaseUrl}projects/${project}/global/images/${name}`;
}
