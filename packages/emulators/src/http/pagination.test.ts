import { describe, expect, it } from 'vitest';
import { FakeRequestError } from './errors.js';
import { paginateAzure, paginateDigitalOcean, paginateGoogle } from './pagination.js';

const numbers = Array.from({ length: 45 }, (_, i) => i + 1);
const request = (path: string, query: string, baseUrl = 'http://127.0.0.1:9') => ({
  baseUrl,
  path,
  query: new URLSearchParams(query),
});

describe('paginateDigitalOcean', () => {
  it('gives the first page with next/last links and the total', () => {
    const page = paginateDigitalOcean(numbers, request('/v2/droplets', 'tag_name=kola'));
    expect(page.items).toEqual(numbers.slice(0, 20));
    expect(page.meta).toEqual({ total: 45 });
    expect(page.links.pages).toEqual({
      next: 'http://127.0.0.1:9/v2/droplets?tag_name=kola&page=2&per_page=20',
      last: 'http://127.0.0.1:9/v2/droplets?tag_name=kola&page=3&per_page=20',
    });
  });

  it('walks to the last page by following next, which has only backward links', () => {
    const seen: number[] = [];
    let query = 'per_page=10';
    for (let i = 0; i < 10; i++) {
      const page = paginateDigitalOcean(numbers, request('/v2/droplets', query));
      seen.push(...page.items);
      if (!page.links.pages.next) {
        expect(page.links.pages).toEqual({
          first: 'http://127.0.0.1:9/v2/droplets?per_page=10&page=1',
          prev: 'http://127.0.0.1:9/v2/droplets?per_page=10&page=4',
        });
        break;
      }
      query = new URL(page.links.pages.next).search.slice(1);
    }
    expect(seen).toEqual(numbers);
  });

  it('caps per_page at 200, has no links for one page, and refuses a page that is not a positive integer', () => {
    const page = paginateDigitalOcean(numbers, request('/v2/droplets', 'per_page=500'));
    expect(page.items).toHaveLength(45);
    expect(page.links.pages).toEqual({});
    expect(() => paginateDigitalOcean(numbers, request('/v2/droplets', 'page=0'))).toThrow(FakeRequestError);
    expect(() => paginateDigitalOcean(numbers, request('/v2/droplets', 'per_page=x'))).toThrow(
      'per_page must be a positive integer, not x',
    );
  });
});

describe('paginateGoogle', () => {
  it('hands out nextPageToken until the last page, which has none', () => {
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = paginateGoogle(
        numbers,
        request('/x', token ? `maxResults=20&pageToken=${token}` : 'maxResults=20'),
      );
      seen.push(...page.items);
      token = page.nextPageToken;
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(numbers);
  });

  it('gives everything up to the default size in one page, and refuses a forged token', () => {
    expect(paginateGoogle(numbers, request('/x', ''))).toEqual({ items: numbers });
    expect(paginateGoogle(numbers, request('/x', ''), { defaultSize: 40 }).nextPageToken).toBeDefined();
    expect(() => paginateGoogle(numbers, request('/x', 'pageToken=bm9wZQ'))).toThrow(
      'Invalid value for pageToken: bm9wZQ',
    );
    expect(() => paginateGoogle(numbers, request('/x', 'maxResults=-1'))).toThrow(FakeRequestError);
  });
});

describe('paginateAzure', () => {
  it('links to the next page with the api-version kept, until the last page', () => {
    const base = request(
      '/subscriptions/s/providers/Microsoft.Compute/virtualMachines',
      'api-version=2024-03-01',
    );
    const first = paginateAzure(numbers, base, { pageSize: 30 });
    expect(first.value).toEqual(numbers.slice(0, 30));
    const next = new URL(first.nextLink!);
    expect(next.pathname).toBe('/subscriptions/s/providers/Microsoft.Compute/virtualMachines');
    expect(next.searchParams.get('api-version')).toBe('2024-03-01');
    const second = paginateAzure(numbers, { ...base, query: next.searchParams }, { pageSize: 30 });
    expect(second).toEqual({ value: numbers.slice(30) });
  });
});
