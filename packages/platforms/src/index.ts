export type { CommandDescription, PlatformDescription } from './description.js';
export { findPlatformEntry, loadPlatform } from './lookup.js';
export { describePlatformEntries, manifestFile } from './manifest.js';
export { type KolaPlatformName, kolaPlatforms } from './registry.js';
