#!/usr/bin/env node
// dist/ is built by `pnpm run build` (scripts/build.mjs builds this package too).
import { main } from '../dist/cli.js';

process.exit(await main(process.argv.slice(2)));
