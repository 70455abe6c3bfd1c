import { execFileSync } from 'node:child_process';

/** CLI tests run the built kola; build it (incrementally) so they never test stale output. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
