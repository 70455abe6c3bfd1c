import {
  type GcOpenContext,
  type GcResource,
  type GcResourceKind,
  type GcSession,
  parseRfc3339,
} from '@mantle/cluster';
import { connectEsx } from '../connect.js';
import { createdAtKey, markersOf, ownerKey, ownerValue } from '../markers.js';
import type { EsxOptions } from '../options.js';
import { optionValues, type VimClient } from '../soap/client.js';
import { type MoRef, text } from '../soap/xml.js';
import { powerOffAndDestroy } from '../vm.js';

/**
 * `ore esx gc` (mantle had none): one kind, `esx.vm`: VMs whose extraConfig says
 * `kola.created-by=mantle`, aged by `kola.created-at`, powered off then destroyed. A VM without the
 * marker is never listed, so never touched; templates never go.
 */
export const kinds = { vm: 'esx.vm' } as const;

interface VmResource extends GcResource {
  ref: MoRef;
  powerState: string;
  template: boolean;
}

export async function openEsxGc(options: EsxOptions, ctx: GcOpenContext): Promise<GcSession> {
  const client = await connectEsx(options, ctx.log, ctx.signal);
  return {
    identity: { server: client.transport.url.host, product: client.content.fullName },
    ownerTag: { key: ownerKey, value: ownerValue },
    locations: [client.transport.url.host],
    kinds: esxGcKinds(client),
    close: () => client[Symbol.asyncDispose](),
  };
}

export function esxGcKinds(client: VimClient): GcResourceKind[] {
  const vmKind: GcResourceKind<VmResource> = {
    kind: kinds.vm,
    description: 'VMs whose extraConfig says kola.created-by=mantle (powered off first; templates kept)',
    async *list(ctx) {
      const vms = await client.list(
        'VirtualMachine',
        ['name', 'config.extraConfig', 'runtime.powerState', 'config.template'],
        ctx.signal,
      );
      for (const vm of vms) {
        const tags = markersOf(optionValues(vm.props.get('config.extraConfig')));
        if (tags[ownerKey] !== ownerValue) continue;
        const created = tags[createdAtKey] ? parseRfc3339(tags[createdAtKey]) : undefined;
        yield {
          kind: kinds.vm,
          id: vm.obj.value,
          name: text(vm.props.get('name')) ?? vm.obj.value,
          location: client.transport.url.host,
          ...(created ? { createdAt: created } : {}),
          tags,
          ref: vm.obj,
          powerState: text(vm.props.get('runtime.powerState')) ?? '',
          template: text(vm.props.get('config.template')) === 'true',
        };
      }
    },
    protectedReason: (vm) => (vm.template ? 'a template' : undefined),
    remove: (vm, ctx) => powerOffAndDestroy(client, vm.ref, ctx.signal),
  };
  return [vmKind as GcResourceKind];
}
