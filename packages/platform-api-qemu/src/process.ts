import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import type { LedgerEntry } from '@mantle/cluster';
import { sleep } from '@mantle/cluster';

/** What the ledger keeps about a VM process, enough to kill it from another kola process. */
export interface QemuProcessData {
  pid: number;
  /** The VM's `-name`: checked against /proc/<pid>/cmdline so a reused pid is never killed. */
  name: string;
  runtimeDir: string;
}

let setprivChecked: boolean | undefined;
function hasSetpriv(): boolean {
  setprivChecked ??= spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
  return setprivChecked;
}

/**
 * Starts QEMU. Attached VMs get PR_SET_PDEATHSIG (through util-linux's setpriv), so the kernel kills
 * them if kola dies without cleaning up, even from SIGKILL; detached VMs (kola spawn --detach) are put
 * in their own session and left for `kola cleanup`.
 */
export function spawnQemu(
  binary: string,
  args: string[],
  options: { detached: boolean; logPath: string },
): ChildProcess {
  const log = openSync(options.logPath, 'a');
  try {
    const [command, argv] =
      !options.detached && hasSetpriv()
        ? ['setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args]]
        : [binary, args];
    const child = spawn(command, argv, { stdio: ['ignore', log, log], detached: options.detached });
    if (options.detached) child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

export function isOurQemu(pid: number, name: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('-name');
    return i >= 0 && argv[i + 1] === name;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the VM if it still runs (and is ours) and removes its runtime directory. */
export async function killQemu(data: QemuProcessData): Promise<void> {
  if (isOurQemu(data.pid, data.name)) {
    try {
      process.kill(data.pid, 'SIGKILL');
    } catch {
      // gone in between
    }
    for (let i = 0; i < 100 && alive(data.pid) && isOurQemu(data.pid, data.name); i++) await sleep(50);
  }
  if (data.runtimeDir && existsSync(data.runtimeDir))
    rmSync(data.runtimeDir, { recursive: true, force: true });
}

export async function destroyQemuProcess(entry: LedgerEntry): Promise<void> {
  const data = entry.data as Partial<QemuProcessData> | undefined;
  if (!data?.pid || !data.name) return;
  await killQemu({ pid: data.pid, name: data.name, runtimeDir: data.runtimeDir ?? '' });
}

/** Resolves when the child exits (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
