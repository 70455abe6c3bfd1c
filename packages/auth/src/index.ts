/**
 * Shared credential mechanics for every platform: mantle's JSON profile-map files, flag > env > file >
 * default precedence, the file-permission warning, and secret registration. Platform readers
 * (`aws.ts`, …) build on these.
 */
export { redact, redactValue, registerSecret } from '@mantle/cluster';
export * from './aws.js';
export * from './azure.js';
export * from './credentials.js';
export * from './digitalocean.js';
export * from './esx.js';
export * from './gce.js';
export * from './packet.js';
export * from './profile-file.js';
