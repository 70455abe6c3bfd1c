#!/usr/bin/env node
// dist/kola.js is main.js bundled with commander (scripts/build.mjs)
import '../dist/kola.js';
