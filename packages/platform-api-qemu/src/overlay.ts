import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A qcow2 overlay over a machine's base disk, so the VM writes only its own file and the cached
 * image stays pristine. lazy_refcounts: fewer metadata writes, and the overlay is thrown away anyway.
 */
export async function createOverlay(
  backing: { path: string; format: string },
  overlay: string,
  signal?: AbortSignal,
): Promise<void> {
  await execFileAsync(
    'qemu-img',
    [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      'lazy_refcounts=on',
      '-b',
      backing.path,
      '-F',
      backing.format,
      overlay,
    ],
    signal ? { signal } : {},
  );
}
