#!/usr/bin/env node
// dist/ore.js is main.js bundled with commander and the CLI core (scripts/build.mjs)
import { kolaPlatforms } from '@mantle/platforms/registry';
import { runOre } from '../dist/ore.js';

process.exit(await runOre(process.argv, { platforms: kolaPlatforms }));
