import { FakeRequestError } from './errors.js';
import type { RouteContext } from './routes.js';

type PageRequest = Pick<RouteContext, 'baseUrl' | 'path' | 'query'>;

/** This request's URL with some query parameters replaced: links keep the client's other parameters. */
function linkTo(request: PageRequest, set: Record<string, string>): string {
  const url = new URL(`${request.baseUrl}${request.path}`);
  for (const [name, value] of request.query) url.searchParams.append(name, value);
  for (const [name, value] of Object.entries(set)) url.searchParams.set(name, value);
  return url.toString();
}

function positiveInteger(request: PageRequest, name: string, fallback: number): number {
  const text = request.query.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new FakeRequestError(`${name} must be a positive integer, not ${text}`);
  return value;
}

export interface DigitalOceanPage<T> {
  items: T[];
  links: { pages: { first?: string; prev?: string; next?: string; last?: string } };
  meta: { total: number };
}

/**
 * DigitalOcean's `?page=N&per_page=M` (1-based; `per_page` 20 by default, at most 200): the page's items,
 * `links.pages` (`first`/`prev` after page 1, `next`/`last` before the last) and `meta.total`. The
 * route spreads them into its answer, e.g. `{ droplets: page.items, links: page.links, meta: page.meta }`.
 */
export function paginateDigitalOcean<T>(items: readonly T[], request: PageRequest): DigitalOceanPage<T> {
  const perPage = Math.min(positiveInteger(request, 'per_page', 20), 200);
  const page = positiveInteger(request, 'page', 1);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const pages: DigitalOceanPage<T>['links']['pages'] = {};
  const at = (n: number) => linkTo(request, { page: String(n), per_page: String(perPage) });
  if (page > 1) {
    pages.first = at(1);
    pages.prev = at(Math.min(page - 1, lastPage));
  }
  if (page < lastPage) {
    pages.next = at(page + 1);
    pages.last = at(lastPage);
  }
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    links: { pages },
    meta: { total: items.length },
  };
}

// Page tokens are opaque to clients, as the providers' are; they carry the next offset.
const encodeToken = (offset: number) => Buffer.from(`offset:${offset}`).toString('base64url');
function decodeToken(token: string, name: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!match) throw new FakeRequestError(`Invalid value for ${name}: ${token}`);
  return Number(match[1]);
}

export interface GooglePageOptions {
  /** Default 500, as Compute Engine's; Cloud Storage's is 1000. */
  defaultSize?: number;
  maxSize?: number;
}

/**
 * Google's `?maxResults=N&pageToken=T`: the page's items and, when more follow, `nextPageToken`
 * (absent on the last page).
 */
export function paginateGoogle<T>(
  items: readonly T[],
  request: Pick<RouteContext, 'query'>,
  options: GooglePageOptions = {},
): { items: T[]; nextPageToken?: string } {
  const maxSize = options.maxSize ?? 500;
  const text = request.query.get('maxResults');
  let size = options.defaultSize ?? maxSize;
  if (text !== null) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0)
      throw new FakeRequestError(`Invalid value for maxResults: ${text}`);
    size = Math.min(value === 0 ? maxSize : value, maxSize);
  }
  const token = request.query.get('pageToken');
  const offset = token ? decodeToken(token, 'pageToken') : 0;
  const end = offset + size;
  return end < items.length
    ? { items: items.slice(offset, end), nextPageToken: encodeToken(end) }
    : { items: items.slice(offset, end) };
}

/**
 * Azure's server-driven paging: `{value, nextLink}`, where `nextLink` is this URL (api-version and all)
 * with a `$skiptoken`; absent on the last page.
 */
export function paginateAzure<T>(
  items: readonly T[],
  request: PageRequest,
  options: { pageSize?: number } = {},
): { value: T[]; nextLink?: string } {
  const pageSize = options.pageSize ?? 100;
  const token = request.query.get('$skiptoken');
  const offset = token ? decodeToken(token, '$skiptoken') : 0;
  const end = offset + pageSize;
  return end < items.length
    ? { value: items.slice(offset, end), nextLink: linkTo(request, { $skiptoken: encodeToken(end) }) }
    : { value: items.slice(offset, end) };
}

export interface EquinixMetalPage<T> {
  items: T[];
  meta: {
    first: { href: string };
    last: { href: string };
    next?: { href: string };
    previous?: { href: string };
    self: { href: string };
    total: number;
    current_page: number;
    last_page: number;
  };
}

/**
 * Equinix Metal's `?page=N&per_page=M` (1-based; `per_page` 10 by default, at most 1000): the page's
 * items and `meta` with `{href}` links (`next` before the last page, `previous` after the first),
 * relative to the API as the real one writes them (`/projects/…/devices?page=2`).
 */
export function paginateEquinixMetal<T>(items: readonly T[], request: PageRequest): EquinixMetalPage<T> {
  const perPage = Math.min(positiveInteger(request, 'per_page', 10), 1000);
  const page = positiveInteger(request, 'page', 1);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const base = new URL(request.baseUrl).pathname.replace(/\/$/, '');
  const at = (n: number) => {
    const url = new URL(linkTo(request, { page: String(n), per_page: String(perPage) }));
    return { href: url.pathname.slice(base.length) + url.search };
  };
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    meta: {
      first: at(1),
      last: at(lastPage),
      ...(page < lastPage ? { next: at(page + 1) } : {}),
      ...(page > 1 ? { previous: at(Math.min(page - 1, lastPage)) } : {}),
      self: at(page),
      total: items.length,
      current_page: page,
      last_page: lastPage,
    },
  };
}
