#!/usr/bin/env node
// ore as the repo's tests run it: the shipped CLI (runOre from the built bundle) with the shipped
// platforms plus what the test asks for in this process's environment. Only this test entry point
// reads these variables; the shipped binary (bin/ore.js) never does.
//   ORE_TEST_PLATFORMS=name=/abs/module.mjs,…   platforms added to the registry (their `platform` export)
//   ORE_TEST_NOW=<ISO date>                     the clock gc ages are measured against
import { kolaPlatforms } from '@mantle/platforms/registry';
import { runOre } from '../../dist/ore.js';

const testPlatforms = (process.env.ORE_TEST_PLATFORMS ?? '')
  .split(',')
  .filter(Boolean)
  .map((spec) => {
    const [name = '', path = ''] = spec.split('=');
    return {
      name,
      description: `test platform from ${path}`,
      load: async () => (await import(path)).platform,
    };
  });
const now = process.env.ORE_TEST_NOW ? new Date(process.env.ORE_TEST_NOW) : undefined;
if (now && Number.isNaN(now.getTime()))
  throw new Error(`ORE_TEST_NOW is not a date: ${process.env.ORE_TEST_NOW}`);

process.exit(
  await runOre(process.argv, {
    platforms: [...kolaPlatforms, ...testPlatforms],
    ...(now ? { now: () => now } : {}),
  }),
);
