import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { equinixMetalShape } from '../http/providers.js';
import { reply, route } from '../http/routes.js';
import { expectNoViolations } from '../http/violations.js';
import { specUnavailable } from './locate.js';

const unavailable = specUnavailable('equinix-metal');
if (unavailable) console.log(`skipping the Equinix Metal spec tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  'an Equinix Metal fake checked against the Equinix Metal spec',
  () => {
    let api: FakeApi;
    beforeAll(async () => {
      api = await createFakeApi({
        name: 'packet',
        spec: 'equinix-metal',
        provider: equinixMetalShape(),
        log: () => {},
        routes: [
          route(
            'POST',
            '/projects',
            (ctx) => {
              const id = randomUUID();
              return reply(201, {
                id,
                name: (ctx.body as { name: string }).name,
                href: `/metal/v1/projects/${id}`,
              });
            },
            { operationId: 'createProject' },
          ),
          route('GET', '/projects', () => reply(200, { projects: [], meta: { total: 0 } }), {
            operationId: 'findProjects',
          }),
        ],
      });
    });
    afterAll(() => api?.close());

    it("serves under the spec's base path, and answers a body against the spec with 422 {errors}", async () => {
      expect(api.url).toBe(`${api.origin}/metal/v1`);
      expect(api.spec?.basePath).toBe('/metal/v1');
      const post = (body: unknown) =>
        fetch(`${api.url}/projects`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': 't' },
          body: JSON.stringify(body),
        });
      expect((await post({ name: 'kola' })).status).toBe(201);
      expect((await fetch(`${api.url}/projects?page=1&per_page=10`)).status).toBe(200);
      expectNoViolations(api);

      const invalid = await post({ name: '' });
      expect(invalid.status).toBe(422);
      expect(await invalid.json()).toEqual({
        errors: ['/requestBody/name: must NOT have fewer than 1 characters'],
      });
      expect(api.takeViolations()).toHaveLength(1);
    });
  },
);
