#!/usr/bin/env node
// dist/kola.js is main.js bundled with commander and the CLI core (scripts/build.mjs)
import { kolaPlatforms } from '@mantle/platforms/registry';
import { runKola } from '../dist/kola.js';

process.exit(await runKola(process.argv, { platforms: kolaPlatforms }));
