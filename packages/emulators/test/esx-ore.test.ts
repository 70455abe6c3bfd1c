import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MoRef, markerOptions, VimClient } from '@mantle/platform-api-esx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVcsim, type Vcsim } from '../src/esx/vcsim.js';
import { ore } from './support/ore-process.js';

let vc: Vcsim;
const signal = new AbortController().signal;
beforeAll(async () => {
  // one pool and one network, so every default is the only one
  vc = await startVcsim({ inventory: { 'standalone-host': 0, pg: 0 } });
});
afterAll(async () => {
  await vc?.stop();
});

const env = () => ({ ...vc.govcEnv() });
const flags = () => ['--esx-ca', vc.caFile];

async function clone(
  c: VimClient,
  name: string,
  tags: Record<string, string> | undefined,
  createdAt: Date,
): Promise<void> {
  const base = (await c.findByInventoryPath('/DC0/vm/DC0_C0_RP0_VM0', signal)) as MoRef;
  const folder = (await c.findByInventoryPath('/DC0/vm', signal)) as MoRef;
  const config = tags ? { extraConfig: markerOptions(tags, createdAt) } : undefined;
  await c.runTask(
    'CloneVM_Task',
    c.cloneVM(
      base,
      folder,
      name,
      { location: {}, template: false, ...(config ? { config } : {}), powerOn: true },
      signal,
    ),
    signal,
  );
}

describe('ore esx against vcsim', () => {
  it('gc removes exactly the marked VMs past the grace period, powered off first; plan by default', async () => {
    {
      await using c = await VimClient.connect({
        url: vc.url,
        username: vc.username,
        password: vc.password,
        ca: vc.caPem,
        signal,
      });
      const old = new Date(Date.now() - 48 * 3600_000);
      await clone(c, 'kola-old', { 'created-by': 'mantle', 'kola-run': 'r1' }, old);
      await clone(c, 'kola-new', { 'created-by': 'mantle', 'kola-run': 'r2' }, new Date());
      await clone(c, 'someone-else-old', undefined, old);
      await clone(c, 'not-ours', { 'created-by': 'someone' }, old);
    }
    const plan = await ore(['esx', 'gc', ...flags(), '--json'], env());
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.stringify(JSON.parse(plan.stdout));
    expect(planned).toContain('kola-old');
    const listed = await ore(['esx', 'list', ...flags()], env());
    expect(listed.stdout).toContain('kola-old');

    const applied = await ore(['esx', 'gc', ...flags(), '--apply', '--json'], env());
    expect(applied.code, applied.stderr).toBe(0);
    const after = await ore(['esx', 'list', ...flags(), '--json'], env());
    const names = (JSON.parse(after.stdout) as { name: string }[]).map((r) => r.name);
    expect(names).not.toContain('kola-old');
    expect(names).toEqual(
      expect.arrayContaining(['kola-new', 'someone-else-old', 'not-ours', 'DC0_C0_RP0_VM0']),
    );
  });

  it('create-base imports a raw disk as a stream-optimized VMDK; remove-base removes only what it made', async () => {
    const raw = join(tmpdir(), `kola-esx-${process.pid}.raw`);
    const disk = Buffer.alloc(4 * 1024 * 1024);
    disk.write('kola', 1024 * 1024);
    writeFileSync(raw, disk);
    const made = await ore(['esx', 'create-base', ...flags(), '--file', raw, '--name', 'kola-base'], env());
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/created base VM kola-base \(vm-\d+\)/);
    const listed = await ore(['esx', 'list', ...flags()], env());
    expect(listed.stdout).toMatch(/kola-base\tpoweredOff\tore base/);
    const refused = await ore(['esx', 'remove-base', ...flags(), '--name', 'DC0_C0_RP0_VM1'], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'ore: esx: VM "DC0_C0_RP0_VM1" was not made by ore esx create-base; not removing it',
    );
    const removed = await ore(['esx', 'remove-base', ...flags(), '--name', 'kola-base'], env());
    expect(removed.code, removed.stderr).toBe(0);
    expect((await ore(['esx', 'list', ...flags()], env())).stdout).not.toContain('kola-base');
  });

  it('verifies TLS: without --esx-ca the self-signed vcsim is refused in one line', async () => {
    const r = await ore(['esx', 'list'], env());
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toMatch(
      /^ore: esx RetrieveServiceContent: 127\.0\.0\.1:\d+: self-signed certificate$/,
    );
  });
});
