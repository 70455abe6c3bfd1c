/** What marks a resource kola or ore made, as mantle tags it: GC touches nothing else. */
export const ownerTag = { key: 'createdBy', value: 'mantle' } as const;
export const createdAtTag = 'createdAt';
export const runTag = 'kolaRun';

/** The tags of everything this tool creates: owner, creation time (UTC, RFC 3339) and extras. */
export function resourceTags(extra: Record<string, string> = {}, now = new Date()): Record<string, string> {
  return { [ownerTag.key]: ownerTag.value, [createdAtTag]: now.toISOString(), ...extra };
}
