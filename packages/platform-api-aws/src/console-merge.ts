/** What mantle puts between two console captures that do not overlap. */
export const consoleSeparator = '\n\n8<------------------------\n\n';

/**
 * Merges the console saved before terminating with the one read after, as mantle does: when the
 * first 100 characters of the new capture occur in the old one, the new capture continues the old
 * from there; otherwise both are kept, separated by a scissors line.
 */
export function mergeConsole(before: string, after: string): string {
  if (!after || after === before) return before;
  if (!before) return after;
  const index = before.indexOf(after.slice(0, 100));
  if (index >= 0) return before.slice(0, index) + after;
  return before + consoleSeparator + after;
}
