import { createRequire } from 'node:module';
import type * as yaml from 'yaml';

// yaml is loaded when a cloud-config is first read or written: the verbs that never do (most of
// ore's) start ~20 ms sooner.
let yamlModule: typeof yaml | undefined;
export const yamlLib = (): typeof yaml =>
  (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof yaml);
