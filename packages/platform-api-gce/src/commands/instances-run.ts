import { builtInVerdict, errorMessage, parseDuration } from '@mantle/cluster';
import type { GceClients } from '../api/clients.js';
import { allInstances, deleteInstance, type Instance, zoneInstances } from '../api/instances.js';
import { gcTagsOf, ownerLabel } from '../labels.js';
import { addressesOf } from '../machine.js';
import { withClients } from './common.js';
import type { destroyInstancesOptions, GceVerbInput, listInstancesOptions } from './schemas.js';

interface Found {
  zone: string;
  instance: Instance;
}

/** Instances whose name starts with `<basename>-`, in the zone or every zone, every page. */
async function basenamed(
  clients: GceClients,
  input: Pick<GceVerbInput<typeof listInstancesOptions>, 'platformOptions' | 'signal' | 'log'>,
  allZones: boolean,
): Promise<Found[]> {
  const { basename } = input.platformOptions;
  const zone = allZones ? undefined : input.platformOptions.zone;
  const options = { signal: input.signal, log: input.log };
  const filter = `name eq "${basename}-.*"`;
  const out: Found[] = [];
  if (zone)
    for await (const instance of zoneInstances(clients, zone, { ...options, filter }))
      out.push({ zone, instance });
  else for await (const found of allInstances(clients, { ...options, filter })) out.push(found);
  // the filter is an optimisation the server may ignore: the prefix decides
  return out.filter((f) => f.instance.name?.startsWith(`${basename}-`));
}

function summary({ zone, instance }: Found) {
  const addresses = addressesOf(instance);
  return {
    name: instance.name ?? '',
    zone,
    status: instance.status ?? '',
    externalIp: addresses?.ip ?? instance.networkInterfaces?.[0]?.accessConfigs?.[0]?.natIP ?? '',
    internalIp: instance.networkInterfaces?.[0]?.networkIP ?? '',
    created: instance.creationTimestamp ?? '',
  };
}

/** `ore gcloud list-instances`: mantle printed name and external IP of `--basename` instances. */
export async function runListInstances({
  options,
  platformOptions,
  log,
  signal,
  io,
}: GceVerbInput<typeof listInstancesOptions>) {
  return withClients({ platformOptions, log }, async (clients) => {
    const found = await basenamed(clients, { platformOptions, signal, log }, options.allZones);
    const rows = found.map(summary).sort((a, b) => a.name.localeCompare(b.name));
    io.result(rows, rows.map((r) => `${r.name}\t${r.externalIp || '-'}\t${r.status}\t${r.zone}`).join('\n'));
    return 0;
  });
}

/**
 * `ore gcloud destroy-instances`: the `--basename` instances ore made (label or metadata
 * created-by=mantle) older than --older-than, under gc's protections (keep-until, expires-at,
 * deletion protection). A plan unless --apply; mantle deleted every instance with the prefix, of any
 * age, at once.
 */
export async function runDestroyInstances({
  options,
  platformOptions,
  log,
  signal,
  io,
}: GceVerbInput<typeof destroyInstancesOptions>) {
  const olderThanMs = parseDuration(options.olderThan, '--older-than');
  return withClients({ platformOptions, log }, async (clients) => {
    const found = await basenamed(clients, { platformOptions, signal, log }, options.allZones);
    const now = new Date();
    const rows: Array<ReturnType<typeof summary> & { action: string; reason: string; error?: string }> = [];
    for (const f of found) {
      const tags = gcTagsOf(f.instance.labels, f.instance.metadata?.items ?? []);
      const verdict = builtInVerdict(
        {
          kind: 'gce.instance',
          id: f.instance.name ?? '',
          tags,
          ...(f.instance.creationTimestamp ? { createdAt: new Date(f.instance.creationTimestamp) } : {}),
        },
        {},
        { ...ownerLabel },
        now,
        olderThanMs,
      );
      const keep = verdict.keep
        ? verdict.reason
        : f.instance.deletionProtection
          ? 'deletion protection is on'
          : undefined;
      if (keep) {
        rows.push({ ...summary(f), action: 'kept', reason: keep });
        continue;
      }
      if (!options.apply) {
        rows.push({ ...summary(f), action: 'would-remove', reason: verdict.reason });
        continue;
      }
      try {
        await deleteInstance(clients, f.zone, f.instance.name ?? '', { signal, log });
        rows.push({ ...summary(f), action: 'removed', reason: verdict.reason });
      } catch (e) {
        if (signal.aborted) throw e;
        rows.push({ ...summary(f), action: 'failed', reason: verdict.reason, error: errorMessage(e) });
      }
    }
    const text = rows.map(
      (r) =>
        `${r.action.padEnd(12)} ${r.zone.padEnd(16)} ${r.name}  ${r.error ? `${r.reason}: ${r.error}` : r.reason}`,
    );
    const count = (a: string) => rows.filter((r) => r.action === a).length;
    text.push(
      options.apply
        ? `${count('removed')} removed, ${count('kept')} kept, ${count('failed')} failed`
        : `${count('would-remove')} would be removed, ${count('kept')} kept (plan only; --apply deletes)`,
    );
    io.result(rows, text.join('\n'));
    return count('failed') ? 1 : 0;
  });
}
