import type { PlatformCommand } from '@mantle/cluster';

/** `ore aws <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const awsCommands: PlatformCommand[] = [];
