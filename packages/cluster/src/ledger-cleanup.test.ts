import { describe, expect, it } from 'vitest';
import { MantleError } from './errors.js';
import type { LedgerEntry } from './ledger.js';
import { destroyLedgerEntryByKind } from './ledger-cleanup.js';
import { createTestContext } from './testing/context.js';

const entry = (kind: string): LedgerEntry =>
  ({ key: `aws/${kind}/x-1`, platform: 'aws', kind, id: 'x-1' }) as LedgerEntry;

describe('destroyLedgerEntryByKind', () => {
  it("runs the destroyer of the entry's kind with a live deadline signal", async () => {
    const ctx = createTestContext();
    const seen: AbortSignal[] = [];
    await destroyLedgerEntryByKind(entry('instance'), ctx, 'aws', {
      instance: async (signal) => {
        seen.push(signal);
      },
      'key-pair': async () => {
        throw new Error('not this one');
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.aborted).toBe(false);
    await ctx.dispose();
  });

  it('names a kind it has no destroyer for, with the platform in the code and the message', async () => {
    const ctx = createTestContext();
    for (const [platform, article] of [
      ['aws', 'an'],
      ['do', 'a'],
    ] as const) {
      const error = await destroyLedgerEntryByKind(entry('toString'), ctx, platform, {}).catch((e) => e);
      expect(error).toBeInstanceOf(MantleError);
      expect(error.code).toBe(`${platform}.ledger.unknown-kind`);
      expect(error.message).toBe(
        `ledger entry aws/toString/x-1: kola does not know how to destroy ${article} ${platform} "toString"`,
      );
    }
    await ctx.dispose();
  });

  it("passes the destroyer's failure on", async () => {
    const ctx = createTestContext();
    await expect(
      destroyLedgerEntryByKind(entry('instance'), ctx, 'aws', {
        instance: async () => {
          throw new Error('access denied');
        },
      }),
    ).rejects.toThrow('access denied');
    await ctx.dispose();
  });
});
