import { defineTest, type TestDefinition } from '@mantle/harness';
import { minimalImageReason, requireSystemd } from '../helpers.js';

export const rebootTests: TestDefinition[] = [
  defineTest({
    name: 'reboot',
    description: 'the machine comes back from a reboot with a new boot id, and its journal continues',
    tags: ['reboot'],
    skip: (env) => minimalImageReason(env, 'systemd and sudo to reboot'),
    async run(t) {
      const m = t.machines[0]!;
      await requireSystemd(t, m);
      const before = await t.ssh(m, 'cat /proc/sys/kernel/random/boot_id');
      await t.ssh(m, 'echo kola-before-reboot | systemd-cat -t kola');
      await m.reboot({ signal: t.signal });
      const after = await t.ssh(m, 'cat /proc/sys/kernel/random/boot_id');
      if (after === before) t.fail('boot id did not change');
      const boots = await t.ssh(m, 'journalctl --list-boots --no-pager | wc -l');
      if (Number(boots) < 2)
        t.fail(`the journal lists ${boots} boot(s); it did not continue across the reboot`);
      const old = await t.ssh(m, 'journalctl --no-pager -b -1 -t kola -o cat');
      if (!old.includes('kola-before-reboot')) t.fail('the previous boot’s journal entries are gone');
    },
  }),
];
