import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { createGoogleOperation, googleZoneOperation, type LongRunning } from '../http/operations.js';
import { paginateGoogle } from '../http/pagination.js';
import { googleShape } from '../http/providers.js';
import { reply, route } from '../http/routes.js';
import { expectNoViolations } from '../http/violations.js';
import { loadSpec } from './catalog.js';
import { specUnavailable } from './locate.js';

const unavailable = specUnavailable('gcp-compute');
if (unavailable) console.log(`skipping the Compute Engine discovery tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  'a Compute Engine fake checked against the discovery document',
  () => {
    let api: FakeApi;
    const lines: string[] = [];
    const operations = new Map<string, LongRunning<'PENDING' | 'RUNNING' | 'DONE'>>();
    const instances: { name: string; zone: string }[] = [];
    let brokenList = false;

    beforeAll(async () => {
      const started = performance.now();
      const spec = await loadSpec('gcp-compute');
      console.log(`Compute discovery document loaded in ${Math.round(performance.now() - started)} ms`);
      api = await createFakeApi({
        name: 'gce',
        spec,
        provider: googleShape(),
        log: (line) => lines.push(line),
        routes: [
          route(
            'POST',
            '/projects/{project}/zones/{zone}/instances',
            (ctx) => {
              const { name } = ctx.body as { name: string };
              instances.push({ name, zone: ctx.params.zone });
              const id = String(1000 + operations.size);
              const op = createGoogleOperation({ id, completeAfter: { polls: 2 } });
              operations.set(`operation-${op.createdAt.getTime()}-${id}`, op);
              const projectUrl = `${ctx.baseUrl}/projects/${ctx.params.project}`;
              return reply(
                200,
                googleZoneOperation(op, {
                  projectUrl,
                  zone: ctx.params.zone,
                  operationType: 'insert',
                  targetLink: `${projectUrl}/zones/${ctx.params.zone}/instances/${name}`,
                }),
              );
            },
            { operationId: 'compute.instances.insert' },
          ),
          route(
            'GET',
            '/projects/{project}/zones/{zone}/operations/{operation}',
            (ctx) => {
              const op = operations.get(ctx.params.operation);
              if (!op) return ctx.provider.notFound(`The resource '${ctx.params.operation}' was not found`);
              const projectUrl = `${ctx.baseUrl}/projects/${ctx.params.project}`;
              return reply(
                200,
                googleZoneOperation(
                  op,
                  {
                    projectUrl,
                    zone: ctx.params.zone,
                    operationType: 'insert',
                    targetLink: `${projectUrl}/x`,
                  },
                  'poll',
                ),
              );
            },
            { operationId: 'compute.zoneOperations.get' },
          ),
          route(
            'GET',
            '/projects/{project}/zones/{zone}/instances',
            (ctx) => {
              if (brokenList) return reply(200, { kind: 'compute#instanceList', items: 'none' });
              const page = paginateGoogle(instances, ctx);
              return reply(200, { kind: 'compute#instanceList', id: 'list', ...page });
            },
            { operationId: 'compute.instances.list' },
          ),
        ],
      });
    });
    afterAll(() => api?.close());

    const insert = (zone: string, body: unknown, query = '') =>
      fetch(`${api.url}/projects/kola-test/zones/${zone}/instances${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('serves under /compute/v1, and an insert returns an operation that polls PENDING → RUNNING → DONE', async () => {
      expect(api.url).toBe(`${api.origin}/compute/v1`);
      const started = (await (
        await insert('us-central1-a', {
          name: 'kola-1',
          machineType: 'zones/us-central1-a/machineTypes/e2-small',
          metadata: { items: [{ key: 'user-data', value: '{"ignition":{"version":"3.4.0"}}' }] },
        })
      ).json()) as { status: string; selfLink: string; name: string };
      expect(started.status).toBe('PENDING');
      const statuses: string[] = [];
      for (let i = 0; i < 5 && statuses.at(-1) !== 'DONE'; i++)
        statuses.push(((await (await fetch(started.selfLink)).json()) as { status: string }).status);
      expect(statuses).toEqual(['RUNNING', 'DONE']);

      await insert('us-central1-a', { name: 'kola-2' });
      const first = (await (
        await fetch(`${api.url}/projects/kola-test/zones/us-central1-a/instances?maxResults=1`)
      ).json()) as { items: unknown[]; nextPageToken: string };
      expect(first.items).toEqual([{ name: 'kola-1', zone: 'us-central1-a' }]);
      const second = await fetch(
        `${api.url}/projects/kola-test/zones/us-central1-a/instances?maxResults=1&pageToken=${first.nextPageToken}`,
      );
      expect(((await second.json()) as { nextPageToken?: string }).nextPageToken).toBeUndefined();
      expectNoViolations(api);
    });

    it("refuses requests against the document with Google's 400", async () => {
      const noName = await insert('us-central1-a', { machineType: 'e2-small' });
      expect(noName.status).toBe(400);
      const body = (await noName.json()) as {
        error: { code: number; errors: { reason: string }[]; message: string };
      };
      expect(body.error.code).toBe(400);
      expect(body.error.errors[0]!.reason).toBe('invalid');
      expect(body.error.message).toContain("/requestBody: must have required property 'name'");

      expect((await insert('US_CENTRAL', { name: 'x' })).status).toBe(400);
      expect((await insert('us-central1-a', { name: 'x' }, '?bogus=1')).status).toBe(400);
      expect((await insert('us-central1-a', { name: 'x' }, '?fields=id&requestId=r')).status).toBe(200);
      expect((await insert('us-central1-a', { name: 7 })).status).toBe(400);

      const problems = api.takeViolations().map((v) => v.problems);
      expect(problems).toEqual([
        ["/requestBody: must have required property 'name'"],
        ['/path/zone: US_CENTRAL does not match [a-z](?:[-a-z0-9]{0,61}[a-z0-9])?'],
        ['/query: unknown parameter bogus (Cannot bind query parameter)'],
        ['/requestBody/name: must be string'],
      ]);
    });

    it('records a response against the document, and checks errors against Google’s envelope', async () => {
      brokenList = true;
      try {
        expect((await fetch(`${api.url}/projects/kola-test/zones/us-central1-a/instances`)).status).toBe(200);
      } finally {
        brokenList = false;
      }
      expect(api.takeViolations().map((v) => [v.kind, v.problems])).toEqual([
        ['response', ['/items: must be array']],
      ]);

      const missing = await fetch(`${api.url}/projects/kola-test/zones/us-central1-a/operations/operation-9`);
      expect(missing.status).toBe(404);
      expectNoViolations(api);
      const spec = api.spec!;
      expect(
        spec.validateResponse('compute.instances.list', { status: 503, headers: {}, body: { oops: 1 } }),
      ).toEqual(["/: must have required property 'error'"]);
    });
  },
);
