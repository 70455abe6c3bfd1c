import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * kola's cache: `$XDG_CACHE_HOME/kola`, else `~/.cache/kola` (a relative `$XDG_CACHE_HOME` is ignored,
 * as the XDG spec says). Built images and remembered test durations live under it.
 */
export function kolaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg?.startsWith('/') ? xdg : join(env.HOME || homedir(), '.cache');
  return join(base, 'kola');
}
