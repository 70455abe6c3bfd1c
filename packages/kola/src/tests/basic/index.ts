import { defineTest, type TestDefinition } from '@mantle/harness';

/** Checks that hold on any Linux reachable over SSH. */
export const basicTests: TestDefinition[] = [
  defineTest({
    name: 'basic.ssh',
    description: 'a command runs over SSH and its exit status comes back',
    tags: ['smoke'],
    async run(t) {
      const m = t.machines[0]!;
      const out = await t.ssh(m, 'echo kola-ok');
      if (out !== 'kola-ok') t.fail(`echo printed ${JSON.stringify(out)}`);
      const r = await m.ssh('exit 3', { check: false });
      if (r.exitCode !== 3) t.fail(`exit 3 reported status ${r.exitCode}`);
    },
  }),
  defineTest({
    name: 'basic.os-release',
    description: '/etc/os-release exists and names the OS',
    tags: ['smoke'],
    async run(t) {
      const text = await t.ssh(t.machines[0]!, 'cat /etc/os-release');
      const id = /^ID=(.+)$/m.exec(text)?.[1];
      if (!id) t.fail('/etc/os-release has no ID= line');
      t.log.info(`os: ${id}`);
    },
  }),
];
