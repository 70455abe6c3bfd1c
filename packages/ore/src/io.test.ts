import { describe, expect, it } from 'vitest';
import { createProgress, renderText } from './io.js';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 80, write: (s: string) => out.push(s) } };
}

describe('progress', () => {
  it('prints plain lines at each tenth when stderr is not a terminal', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = createProgress(stream, 'upload', { total: 100, unit: 'items' }, () => t);
    for (let i = 0; i < 100; i++) {
      t += 10;
      p.advance(1);
    }
    p.done();
    expect(out.filter((l) => /^upload: \d+% /.test(l))).toHaveLength(10);
    expect(out.every((l) => !l.includes('\r'))).toBe(true);
    expect(out.at(-1)).toMatch(/^upload: done, 100\/100 in 1\.0s\n$/);
  });

  it('redraws one line in place on a terminal, at most ten times a second', () => {
    const { out, stream } = sink(true);
    let t = 0;
    const p = createProgress(stream, 'upload', { total: 1024 * 1024, unit: 'bytes' }, () => t);
    for (let i = 0; i < 1024; i++) {
      t += 1;
      p.advance(1024);
    }
    p.done();
    expect(out.length).toBeLessThanOrEqual(13);
    expect(out[1]).toMatch(/^\rupload \[#+\.*\] \d+% .*KiB\/1\.0 MiB .*\/s\u001b\[K$/);
    expect(out.at(-1)).toMatch(/^\rupload: done, 1\.0 MiB\/1\.0 MiB .* in 1\.0s\u001b\[K\n$/);
  });
});

describe('renderText', () => {
  it('shows objects as key: value lines and lists of objects as columns', () => {
    expect(renderText({ ami: 'ami-1', snapshot: 'snap-2' })).toBe('ami: ami-1\nsnapshot: snap-2\n');
    expect(renderText([{ id: 'a', name: 'x' }, { id: 'bb' }])).toBe('ID  NAME\na   x\nbb  -\n');
  });
});
