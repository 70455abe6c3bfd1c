import { ConfigError } from '@mantle/cluster';
import { connectEsx } from '../connect.js';
import { findDatacenter } from '../inventory.js';
import { baseKey, createdAtKey, markersOf, ownerKey, ownerValue, runKey } from '../markers.js';
import { optionValues, type VimClient } from '../soap/client.js';
import { text } from '../soap/xml.js';
import { powerOffAndDestroy } from '../vm.js';
import type { EsxVerbInput, nameOnlyOptions, noOptions } from './schemas.js';

/** `ore esx list`: every VM of the datacenter, with what our markers say of it. */
export async function runList(input: EsxVerbInput<typeof noOptions>): Promise<number> {
  await using client = await connectEsx(input.platformOptions, input.log, input.signal);
  const { datacenter, vms } = await datacenterVms(client, input, [
    'name',
    'runtime.powerState',
    'config.extraConfig',
  ]);
  const rows = vms
    .map((vm) => {
      const m = markersOf(optionValues(vm.props.get('config.extraConfig')));
      const madeBy =
        m[baseKey] !== undefined
          ? 'ore base'
          : m[ownerKey] === ownerValue
            ? `kola run ${m[runKey] ?? '?'}`
            : '-';
      return {
        name: text(vm.props.get('name')) ?? vm.obj.value,
        id: vm.obj.value,
        powerState: text(vm.props.get('runtime.powerState')) ?? '',
        madeBy,
        ...(m[createdAtKey] ? { createdAt: m[createdAtKey] } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  input.io.result(
    rows,
    rows
      .map((r) => `${r.name}\t${r.powerState}\t${r.madeBy}${r.createdAt ? `\t${r.createdAt}` : ''}`)
      .join('\n'),
  );
  return 0;
}

/** `ore esx remove-base --name N`: only a VM that create-base made (marker `kola.base`). */
export async function runRemoveBase(input: EsxVerbInput<typeof nameOnlyOptions>): Promise<number> {
  const name = input.options.name;
  await using client = await connectEsx(input.platformOptions, input.log, input.signal);
  const { datacenter, vms } = await datacenterVms(client, input, ['name', 'config.extraConfig']);
  const hits = vms.filter((v) => text(v.props.get('name')) === name);
  if (hits.length === 0)
    throw new ConfigError(`esx: no VM named ${JSON.stringify(name)} in ${datacenter.name}`);
  if (hits.length > 1)
    throw new ConfigError(`esx: ${hits.length} VMs are named ${JSON.stringify(name)}; remove it by hand`);
  const vm = hits[0] as (typeof hits)[number];
  if (markersOf(optionValues(vm.props.get('config.extraConfig')))[baseKey] === undefined) {
    throw new ConfigError(
      `esx: VM ${JSON.stringify(name)} was not made by ore esx create-base; not removing it`,
    );
  }
  await powerOffAndDestroy(client, vm.obj, input.signal);
  input.io.result({ removed: name, id: vm.obj.value }, `removed ${name}`);
  return 0;
}

/** The VMs of the datacenter (`--esx-datacenter`, or the only one), with `paths`. */
async function datacenterVms(client: VimClient, input: EsxVerbInput<typeof noOptions>, paths: string[]) {
  const datacenter = await findDatacenter(client, input.platformOptions.datacenter, input.signal);
  const vms = await client.list('VirtualMachine', paths, input.signal, datacenter.ref);
  return { datacenter, vms };
}
