import { describe, expect, it } from 'vitest';
import {
  builtInVerdict,
  type GcContext,
  type GcResource,
  type GcResourceKind,
  orderKinds,
  parseRfc3339,
  type RunGcOptions,
  runGc,
} from './gc.js';
import { silentLogger } from './log.js';

const owner = { key: 'CreatedBy', value: 'mantle' };
const now = new Date('2030-06-01T12:00:00Z');
const hour = 3_600_000;
const mine = { CreatedBy: 'mantle' };

function resource(kind: string, id: string, tags: Record<string, string>, ageHours?: number): GcResource {
  return {
    kind,
    id,
    tags,
    ...(ageHours !== undefined ? { createdAt: new Date(now.getTime() - ageHours * hour) } : {}),
  };
}

/** A fake kind over an in-memory list that records what was removed and in which order. */
function fakeKind(
  kind: string,
  items: GcResource[],
  journal: string[],
  extra: Partial<GcResourceKind> & { failIds?: string[]; batch?: boolean } = {},
): GcResourceKind {
  const { failIds = [], batch = false, ...rest } = extra;
  const store = new Set(items.map((i) => i.id));
  const base: GcResourceKind = {
    kind,
    description: kind,
    async *list() {
      journal.push(`list ${kind}`);
      for (const i of items) if (store.has(i.id)) yield i;
    },
    ...rest,
  };
  if (batch)
    base.removeMany = async (resources) => {
      journal.push(`removeMany ${kind} ${resources.map((r) => r.id).join(',')}`);
      const failures = new Map<string, unknown>();
      for (const r of resources) {
        if (failIds.includes(r.id)) failures.set(r.id, new Error(`cannot remove ${r.id}`));
        else store.delete(r.id);
      }
      return failures;
    };
  else
    base.remove ??= async (r) => {
      journal.push(`remove ${kind} ${r.id}`);
      if (failIds.includes(r.id)) throw new Error(`cannot remove ${r.id}`);
      store.delete(r.id);
    };
  return base;
}

function run(kinds: GcResourceKind[], extra: Partial<RunGcOptions> = {}) {
  return runGc({
    kinds,
    ownerTag: owner,
    locations: ['here'],
    apply: true,
    olderThanMs: 5 * hour,
    signal: new AbortController().signal,
    log: silentLogger(),
    now,
    ...extra,
  });
}

const actions = (report: Awaited<ReturnType<typeof runGc>>) =>
  Object.fromEntries(report.results.map((r) => [r.resource.id, r.action]));

describe('builtInVerdict', () => {
  const verdict = (
    tags: Record<string, string>,
    age?: number,
    kind: { ageless?: boolean; expiryOnly?: boolean } = {},
  ) => builtInVerdict(resource('k', 'x', tags, age), kind, owner, now, 5 * hour);

  it('only resources with the owner tag and value are candidates', () => {
    expect(verdict({}, 10)).toEqual({
      keep: true,
      reason: 'not created by this tool (no CreatedBy=mantle tag)',
    });
    expect(verdict({ CreatedBy: 'someone' }, 10).keep).toBe(true);
    expect(verdict(mine, 10)).toEqual({ keep: false, reason: 'age 10h0m' });
  });

  it('keep-until protects until its date, and a bad date protects for ever', () => {
    expect(verdict({ ...mine, 'keep-until': '2030-06-02T00:00:00Z' }, 10)).toMatchObject({ keep: true });
    expect(verdict({ ...mine, 'keep-until': '2030-05-01' }, 10)).toMatchObject({ keep: false });
    expect(verdict({ ...mine, 'keep-until': 'soon' }, 10)).toEqual({
      keep: true,
      reason: 'keep-until tag "soon" is not an RFC 3339 date',
    });
  });

  it('expires-at overrides age both ways', () => {
    expect(verdict({ ...mine, 'expires-at': '2030-06-01T11:00:00Z' }, 1)).toEqual({
      keep: false,
      reason: 'expired at 2030-06-01T11:00:00.000Z',
    });
    expect(verdict({ ...mine, 'expires-at': '2030-06-01T13:00:00+00:00' }, 100).keep).toBe(true);
    expect(verdict({ ...mine, 'expires-at': '2030-06-01T13:00:00' }, 100).reason).toMatch(
      /not an RFC 3339 date/,
    );
  });

  it('keep-until wins over an expired expires-at', () => {
    expect(verdict({ ...mine, 'keep-until': '2031-01-01', 'expires-at': '2020-01-01' }, 100)).toMatchObject({
      keep: true,
      reason: expect.stringMatching(/^keep-until/),
    });
  });

  it('age: young, unknown, ageless and expiry-only kinds', () => {
    expect(verdict(mine, 1)).toEqual({ keep: true, reason: 'younger than 5h0m (age 1h0m)' });
    expect(verdict(mine)).toEqual({ keep: true, reason: 'creation time unknown' });
    expect(verdict(mine, undefined, { ageless: true })).toEqual({ keep: false, reason: 'unused' });
    expect(verdict(mine, 1000, { expiryOnly: true }).keep).toBe(true);
    expect(verdict({ ...mine, 'expires-at': '2030-01-01' }, 0, { expiryOnly: true }).keep).toBe(false);
  });

  it('parses RFC 3339 strictly', () => {
    expect(parseRfc3339('2030-06-01')?.toISOString()).toBe('2030-06-01T00:00:00.000Z');
    expect(parseRfc3339('2030-06-01T01:02:03.5+02:00')?.toISOString()).toBe('2030-05-31T23:02:03.500Z');
    expect(parseRfc3339('2030-13-01')).toBeUndefined();
    expect(parseRfc3339('June 1')).toBeUndefined();
  });
});

describe('orderKinds', () => {
  it('puts dependencies first and rejects cycles', () => {
    const names = orderKinds([
      { kind: 'vpc', dependsOn: ['subnet', 'instance'] },
      { kind: 'subnet', dependsOn: ['instance'] },
      { kind: 'instance' },
      { kind: 'image', dependsOn: ['not-selected'] },
    ]).map((k) => k.kind);
    expect(names).toEqual(['instance', 'subnet', 'vpc', 'image']);
    expect(() =>
      orderKinds([
        { kind: 'a', dependsOn: ['b'] },
        { kind: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow(/cycle: a → b → a/);
  });
});

describe('runGc', () => {
  it('a plan removes nothing and reports would-remove and kept with reasons', async () => {
    const journal: string[] = [];
    const report = await run(
      [
        fakeKind(
          'thing',
          [
            resource('thing', 'old', mine, 10),
            resource('thing', 'young', mine, 1),
            resource('thing', 'foreign', {}, 10),
          ],
          journal,
        ),
      ],
      { apply: false },
    );
    expect(journal).toEqual(['list thing']);
    expect(actions(report)).toEqual({ old: 'would-remove', young: 'kept', foreign: 'kept' });
    expect(report.counts).toEqual({ removed: 0, 'would-remove': 1, kept: 2, failed: 0 });
    expect(report.results.find((r) => r.resource.id === 'young')?.reason).toBe(
      'younger than 5h0m (age 1h0m)',
    );
  });

  it('removes in dependsOn order, listing each kind after the removals it depends on', async () => {
    const journal: string[] = [];
    await run([
      fakeKind('vpc', [resource('vpc', 'v', mine, 10)], journal, { dependsOn: ['instance'] }),
      fakeKind('instance', [resource('instance', 'i', mine, 10)], journal),
    ]);
    expect(journal).toEqual(['list instance', 'remove instance i', 'list vpc', 'remove vpc v']);
  });

  it('never stops at the first error: every resource gets an outcome', async () => {
    const journal: string[] = [];
    const items = ['a', 'b', 'c', 'd'].map((id) => resource('thing', id, mine, 10));
    const report = await run(
      [
        fakeKind('thing', items, journal, { failIds: ['a', 'c'] }),
        fakeKind('other', [resource('other', 'o', mine, 10)], journal),
      ],
      { concurrency: 1 },
    );
    expect(actions(report)).toEqual({ a: 'failed', b: 'removed', c: 'failed', d: 'removed', o: 'removed' });
    expect(report.results.find((r) => r.resource.id === 'a')?.error).toBe('cannot remove a');
  });

  it('removeMany: one call for the batch, per-id failures, and a thrown batch fails every one', async () => {
    const journal: string[] = [];
    const items = ['a', 'b', 'c'].map((id) => resource('thing', id, mine, 10));
    const report = await run([fakeKind('thing', items, journal, { batch: true, failIds: ['b'] })]);
    expect(journal).toEqual(['list thing', 'removeMany thing a,b,c']);
    expect(actions(report)).toEqual({ a: 'removed', b: 'failed', c: 'removed' });

    const thrown = await run([
      {
        kind: 'thing',
        description: 'thing',
        async *list() {
          yield* items;
        },
        removeMany: async () => {
          throw new Error('throttled');
        },
        remove: async () => {
          throw new Error('remove must not be used when removeMany exists');
        },
      },
    ]);
    expect(thrown.results.map((r) => [r.action, r.error])).toEqual([
      ['failed', 'throttled'],
      ['failed', 'throttled'],
      ['failed', 'throttled'],
    ]);
  });

  it('a failed listing touches nothing of that kind and the run goes on', async () => {
    const journal: string[] = [];
    const removed: string[] = [];
    const broken: GcResourceKind = {
      kind: 'broken',
      description: 'broken',
      async *list() {
        yield resource('broken', 'first-page', mine, 10);
        throw new Error('page 2: 503');
      },
      async remove(r) {
        removed.push(r.id);
      },
    };
    const report = await run([broken, fakeKind('fine', [resource('fine', 'f', mine, 10)], journal)]);
    expect(removed).toEqual([]);
    expect(report.listingErrors).toEqual([{ kind: 'broken', error: 'page 2: 503' }]);
    expect(report.results.find((r) => r.resource.id === 'first-page')).toMatchObject({
      action: 'kept',
      reason: 'listing of broken failed',
    });
    expect(actions(report).f).toBe('removed');
  });

  it('kind protections apply after the built-in ones, and isCandidate tells later kinds what goes', async () => {
    const journal: string[] = [];
    const seen: Array<[string, boolean]> = [];
    const report = await run(
      [
        fakeKind(
          'instance',
          [resource('instance', 'i1', mine, 10), resource('instance', 'i2', mine, 1)],
          journal,
        ),
        fakeKind('group', [resource('group', 'g1', mine), resource('group', 'g2', mine)], journal, {
          dependsOn: ['instance'],
          ageless: true,
          protectedReason(r: GcResource, ctx: GcContext) {
            const user = r.id === 'g1' ? 'i1' : 'i2';
            const goes = ctx.isCandidate('instance', user);
            seen.push([user, goes]);
            return goes ? undefined : `in use by ${user}`;
          },
        }),
      ],
      { apply: false },
    );
    expect(seen).toEqual([
      ['i1', true],
      ['i2', false],
    ]);
    expect(actions(report)).toEqual({ i1: 'would-remove', i2: 'kept', g1: 'would-remove', g2: 'kept' });
    expect(report.results.find((r) => r.resource.id === 'g2')?.reason).toBe('in use by i2');
  });

  it('a failed removal stops counting as a candidate for the kinds after it', async () => {
    const journal: string[] = [];
    let sawCandidate: boolean | undefined;
    await run([
      fakeKind('instance', [resource('instance', 'i1', mine, 10)], journal, { failIds: ['i1'] }),
      fakeKind('group', [resource('group', 'g1', mine)], journal, {
        dependsOn: ['instance'],
        ageless: true,
        protectedReason(_r: GcResource, ctx: GcContext) {
          sawCandidate = ctx.isCandidate('instance', 'i1');
          return sawCandidate ? undefined : 'in use by i1';
        },
      }),
    ]);
    expect(sawCandidate).toBe(false);
    expect(journal).not.toContain('remove group g1');
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      run([fakeKind('thing', [resource('thing', 'a', mine, 10)], [])], { signal: controller.signal }),
    ).rejects.toThrow();
  });
});
