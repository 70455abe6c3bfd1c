import { defineTest, type TestDefinition } from '@mantle/harness';

/**
 * What every image must do: answer SSH, say what it is, have a valid and unique machine id, and come
 * up without failed units where systemd runs.
 */
export const basicTests: TestDefinition[] = [
  defineTest({
    name: 'basic',
    description: 'SSH works, os-release names the OS, machine-id is valid and unique, no failed units',
    clusterSize: 2,
    tags: ['smoke'],
    async run(t) {
      await t.step('ssh', async (s) => {
        for (const m of t.machines) {
          const out = await s.ssh(m, 'echo kola-ok');
          if (out !== 'kola-ok') s.fail(`${m.id}: echo printed ${JSON.stringify(out)}`);
          const r = await m.ssh('exit 3', { check: false, signal: s.signal });
          if (r.exitCode !== 3) s.fail(`${m.id}: exit 3 came back as ${r.exitCode}`);
        }
      });
      await t.step('os-release', async (s) => {
        const text = await s.ssh(t.machines[0]!, 'cat /etc/os-release');
        const id = /^ID=(.+)$/m.exec(text)?.[1];
        if (!id) s.fail('/etc/os-release has no ID= line');
        s.log.info(`os: ${/^PRETTY_NAME=(.+)$/m.exec(text)?.[1] ?? id}`);
      });
      await t.step('machine-id', async (s) => {
        const present = await t.machines[0]!.ssh('test -e /etc/machine-id || test -d /run/systemd/system', {
          check: false,
          signal: s.signal,
        });
        if (present.exitCode !== 0) s.skip('no /etc/machine-id and no systemd on this image');
        const ids = await Promise.all(t.machines.map((m) => s.ssh(m, 'cat /etc/machine-id')));
        for (const id of ids)
          if (!/^[0-9a-f]{32}$/.test(id)) s.fail(`machine-id ${JSON.stringify(id)} is not 32 hex digits`);
        if (new Set(ids).size !== ids.length) s.fail(`machines share a machine-id: ${ids.join(', ')}`);
      });
      await t.step('failed-units', async (s) => {
        const m = t.machines[0]!;
        const systemd = await m.ssh('test -d /run/systemd/system', { check: false, signal: s.signal });
        if (systemd.exitCode !== 0) s.skip('no systemd on this image');
        // wait for boot to settle: units still starting are not failures yet
        await m.ssh('systemctl is-system-running --wait >/dev/null 2>&1 || true', {
          signal: s.signal,
          timeoutMs: 300_000,
        });
        const failed = await s.ssh(m, 'systemctl --no-legend --plain --state=failed list-units');
        if (failed) s.fail(`failed units:\n${failed}`);
      });
    },
  }),
];
