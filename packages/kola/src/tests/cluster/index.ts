import { defineTest, type TestDefinition } from '@mantle/harness';

/** Machines of one cluster reach each other over their private addresses. */
export const clusterTests: TestDefinition[] = [
  defineTest({
    name: 'cluster.network',
    description: 'three machines reach each other over their private addresses',
    clusterSize: 3,
    tags: ['network'],
    async run(t) {
      for (const from of t.machines) {
        for (const to of t.machines) {
          if (from === to) continue;
          // ping where the image allows it, else the peer's SSH banner over TCP
          const probe = `ping -c 1 -W 5 ${to.privateIp} >/dev/null 2>&1 || (nc -w 5 ${to.privateIp} 22 </dev/null 2>/dev/null | grep -q SSH)`;
          const r = await from.ssh(probe, { check: false, signal: t.signal, timeoutMs: 30_000 });
          if (r.exitCode !== 0)
            t.fail(`${from.id} (${from.privateIp}) cannot reach ${to.id} at ${to.privateIp}`);
          t.log.info(`${from.privateIp} → ${to.privateIp} ok`);
        }
      }
    },
  }),
];
