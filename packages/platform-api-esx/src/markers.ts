import type { XmlObject } from './soap/xml.js';
import { typed, xsdString } from './soap/xml.js';

/**
 * What gc trusts on a VM: extraConfig keys `kola.created-by` (= mantle), `kola.created-at`
 * (RFC 3339) and `kola.run`, set by kola on every clone. extraConfig is per VM and survives
 * renames; a VM without `kola.created-by=mantle` is never touched. Base VMs of `ore esx
 * create-base` carry `kola.base` instead, so gc leaves them too.
 */
export const markerPrefix = 'kola.';
export const ownerKey = 'created-by';
export const ownerValue = 'mantle';
export const createdAtKey = 'created-at';
export const runKey = 'kola-run';
export const baseKey = 'base';

/** The `kola.*` keys of an extraConfig map, without the prefix. */
export function markersOf(extraConfig: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of extraConfig) if (k.startsWith(markerPrefix)) out[k.slice(markerPrefix.length)] = v;
  return out;
}

export function optionValue(key: string, value: string): XmlObject {
  return typed('OptionValue', { key, value: xsdString(value) });
}

/** extraConfig entries for a clone: the run's tags plus `created-at`. */
export function markerOptions(tags: Record<string, string>, now: Date): XmlObject[] {
  const all: Record<string, string> = { [ownerKey]: ownerValue, ...tags, [createdAtKey]: now.toISOString() };
  return Object.entries(all).map(([k, v]) => optionValue(markerPrefix + k, v));
}
