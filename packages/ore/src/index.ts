export type { OreDependencies } from './environment.js';
export { type GcFlags, gcExitCode, gcPlatform, type PlatformGcOutcome } from './gc.js';
export { createIo, createProgress, renderText } from './io.js';
export { runOre } from './main.js';
