export { exitCodeOf, overrideExitEverywhere } from './exit-code.js';
export { addSpecFlags, specFlagValues } from './flags.js';
export { Interrupts } from './interrupts.js';
export { addLogFlags, type CliLogLevel, type LogFlags, logLevelOf } from './log-level.js';
