import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, parseDuration, UsageError } from '@mantle/cluster';
import {
  ConsoleReporter,
  createFileReporters,
  loadDenylist,
  loadTestDurations,
  longestFirst,
  multiReporter,
  runTests,
  saveTestDurations,
  selectTests,
  testDurationsFile,
  writeProperties,
} from '@mantle/harness';
import type { CommonOptions } from '../common-options.js';
import type { KolaCommandEnvironment } from '../environment.js';
import { loadTests } from '../tests/index.js';
import { kolaVersion } from '../version.js';
import { logLevelOf, openRunFor, positiveInteger, resolvePlatform, sshSettings } from './setup.js';

export interface RunFlags extends CommonOptions {
  parallel?: string;
  tag: string[];
  denylist?: string;
  timeout?: string;
  maxRuntime?: string;
  tapfile?: string;
  remove: boolean;
  exttest: string[];
  [key: string]: unknown;
}

export async function runCommand(
  patterns: string[],
  opts: RunFlags,
  env: KolaCommandEnvironment,
): Promise<number> {
  // Everything that can be wrong with the command line is checked before anything is created.
  const parallelFlag = opts.parallel === undefined ? undefined : positiveInteger(opts.parallel, '--parallel');
  const timeoutMs = opts.timeout ? parseDuration(opts.timeout, '--timeout') : undefined;
  const maxRuntimeMs = opts.maxRuntime ? parseDuration(opts.maxRuntime, '--max-runtime') : undefined;
  const denylist = opts.denylist ? loadDenylist(opts.denylist) : undefined;
  const ssh = sshSettings(opts);
  const tests = await loadTests(env.deps, opts.exttest);
  const selection = selectTests(tests, {
    patterns: patterns.length ? patterns : ['*'],
    tags: opts.tag,
    platform: opts.platform,
    ...(denylist ? { denylist } : {}),
  });
  if (selection.unmatchedPatterns.length) {
    throw new UsageError(
      `no test matches ${selection.unmatchedPatterns.map((p) => JSON.stringify(p)).join(', ')} (see kola list)`,
    );
  }
  const { platform, options } = await resolvePlatform(opts, env);
  const parallel = parallelFlag ?? platform.defaultParallelism?.(options) ?? 1;

  const run = await openRunFor(opts, platform, env, ssh);
  const notes: Record<string, string[]> = {};
  for (const expired of selection.expiredSnoozes) {
    run.log.notice(expired.message);
    for (const test of expired.tests) notes[test.name] = [...(notes[test.name] ?? []), expired.message];
  }
  // With tests running side by side, the longest go first, so the run does not end with one of them
  // running alone; one at a time, the suite's order is kept.
  const durationsFile = testDurationsFile(platform.name);
  let runOrder = selection.selected;
  if (parallel > 1) {
    const durations = loadTestDurations(durationsFile);
    runOrder = longestFirst(runOrder, durations);
    if (durations.size)
      run.log.info('starting the longest tests first, by their durations in earlier runs', {
        file: durationsFile,
      });
  }
  try {
    const props = { cmdline: env.argv.slice(1), platform: platform.name, version: kolaVersion };
    writeProperties(run.outputDir, { ...props, platformProperties: platform.properties(options) });
    const result = await runTests({
      tests: runOrder,
      skipped: selection.skipped,
      platform,
      platformOptions: options,
      ctx: run.ctx,
      reporter: multiReporter([
        new ConsoleReporter(process.stdout, { verbose: logLevelOf(opts) !== 'notice' }),
        ...createFileReporters(run.outputDir),
      ]),
      parallel,
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(maxRuntimeMs ? { maxRuntimeMs } : {}),
      keepFailed: !opts.remove,
      notes,
      version: kolaVersion,
      onFlight: (_flight, properties) =>
        writeProperties(run.outputDir, { ...props, platformProperties: properties }),
    });
    if (!result.interrupted) {
      try {
        await saveTestDurations(durationsFile, result.results);
      } catch (e) {
        run.log.debug('could not remember the test durations', {
          file: durationsFile,
          error: errorMessage(e),
        });
      }
    }
    if (opts.tapfile) copyFileSync(join(run.outputDir, 'test.tap'), opts.tapfile);
    for (const message of result.cleanupErrors) run.log.error(message);
    if (result.kept.length) {
      process.stdout.write('\nmachines kept for failed tests (--no-remove):\n');
      for (const k of result.kept) process.stdout.write(`  ${k.test} ${k.id}: ${k.sshCommand}\n`);
      process.stdout.write(`destroy them with: kola cleanup --run ${run.outputDir}\n`);
    }
    if (result.interrupted) return 130;
    const failed = result.results.filter((r) => r.status === 'FAIL' && !r.parent);
    // a resource that may be left behind is an infrastructure failure even when every test passed
    if (!failed.length) return result.status === '' ? 1 : result.cleanupErrors.length ? 3 : 0;
    return failed.every((r) => r.failure?.kind === 'infrastructure') ? 3 : 1;
  } finally {
    run.close();
  }
}
