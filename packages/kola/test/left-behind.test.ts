import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kola, ledgerAlive, liveFakeMachines, readJson, tempDir } from './helpers.js';

describe('kola run when a resource may be left behind', () => {
  it('exits 3 though every test passed, names the machine, and kola cleanup destroys it', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const fake = ['-p', 'fake', '--fake-state-dir', state];
    const r = await kola(['run', 'fixture.pass', ...fake, '--output-dir', out, '--fake-fail-terminate', '1']);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack traces
    expect(r.code).toBe(3);
    const report = readJson<{ result: string; tests: Array<{ result: string }> }>(
      join(out, 'reports/report.json'),
    );
    expect(report.result).toBe('PASS');
    // liveFakeMachines lists state files, `<id>.json`
    const leaked = liveFakeMachines(state)[0]?.replace(/\.json$/, '');
    expect(leaked).toMatch(/^fake-[0-9a-f]+$/);
    expect(r.stderr).toContain(`machine ${leaked} may be left behind`);
    expect(r.stderr).toContain('termination #1 failed as asked');
    expect(ledgerAlive(out)).toHaveLength(1);

    const c = await kola(['cleanup', '--run', out, ...fake]);
    expect(c.code).toBe(0);
    expect(liveFakeMachines(state)).toEqual([]);
  });
});
