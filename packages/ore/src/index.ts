export { addSpecFlags, specFlagValues } from './flags.js';
export { type GcFlags, gcExitCode, gcPlatform, type PlatformGcOutcome } from './gc.js';
export { createIo, createProgress, renderText } from './io.js';
