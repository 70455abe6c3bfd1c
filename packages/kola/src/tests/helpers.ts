import type { Machine } from '@mantle/cluster';
import type { TestContext, TestEnvironment } from '@mantle/harness';

/** The qemu test image's minimal flavor: busybox + dropbear, no systemd, no sudo, no reboot. */
export function minimalImageReason(env: TestEnvironment, what: string): string | undefined {
  return env.properties.flavor === 'minimal' ? `needs ${what}; the minimal test image has none` : undefined;
}

/** Skips at run time when the machine has no systemd (images other than the known flavors). */
export async function requireSystemd(t: TestContext, machine: Machine): Promise<void> {
  const r = await machine.ssh('test -d /run/systemd/system', { check: false, signal: t.signal });
  if (r.exitCode !== 0) t.skip('needs systemd; this image does not run it');
}

/** Runs `command` until it succeeds (services started at boot may still be starting). */
export async function eventually(
  t: TestContext,
  machine: Machine,
  command: string,
  what: string,
  timeoutMs = 120_000,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await machine.ssh(command, { check: false, signal: t.signal });
    if (r.exitCode === 0) return r.stdout.trim();
    last = (r.stderr || r.stdout).trim();
    if (Date.now() > end) t.fail(`${what}: still failing after ${timeoutMs / 1000}s: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`;
}

export function base64Url(text: string): string {
  return `data:;base64,${Buffer.from(text).toString('base64')}`;
}
