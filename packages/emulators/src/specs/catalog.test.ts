import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFakeApi } from '../http/fake-api.js';
import { reply, route } from '../http/routes.js';
import { loadSpec } from './catalog.js';
import { specsDir, specUnavailable } from './locate.js';

const empty = mkdtempSync(join(tmpdir(), 'kola-specs-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('the specs folder', () => {
  it('is ../shared/specs beside the repository unless KOLA_SPECS_DIR says otherwise', () => {
    expect(specsDir({})).toMatch(/\/shared\/specs$/);
    expect(specsDir({})).not.toContain('/packages/');
    expect(specsDir({ KOLA_SPECS_DIR: empty })).toBe(empty);
  });

  it('when a spec is missing, validation is off, said once, and the fake still serves', async () => {
    const env = { KOLA_SPECS_DIR: empty };
    expect(specUnavailable('equinix-metal', env)).toBe(
      `the equinix-metal spec is not at ${empty}/equinix-metal/equinix-metal-v1.bundled.yaml ` +
        "(set KOLA_SPECS_DIR to the folder holding the providers' specs)",
    );
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    expect(await loadSpec('equinix-metal', { env, log })).toBeUndefined();
    expect(await loadSpec('equinix-metal', { env, log })).toBeUndefined();
    expect(lines).toEqual([
      `emulators: request and response validation is OFF for equinix-metal: ${specUnavailable('equinix-metal', env)}`,
    ]);

    const previous = process.env.KOLA_SPECS_DIR;
    process.env.KOLA_SPECS_DIR = empty;
    try {
      await using api = await createFakeApi({
        name: 'packet',
        spec: 'equinix-metal',
        log,
        routes: [route('GET', '/anything/{id}', (ctx) => reply(200, { id: ctx.params.id }))],
      });
      expect(api.spec).toBeUndefined();
      expect(await (await fetch(`${api.url}/anything/1`)).json()).toEqual({ id: '1' });
      expect(lines).toHaveLength(1);
    } finally {
      if (previous === undefined) delete process.env.KOLA_SPECS_DIR;
      else process.env.KOLA_SPECS_DIR = previous;
    }
  });
});
