import type { Dialer } from '@mantle/cluster';

export interface MotoTarget {
  /** moto's (or its front's) endpoint URL. */
  endpoint: string;
  region?: string;
  accessKeyId?: string;
  /** The SSH user the mock servers accept (default core). */
  user?: string;
}

export interface SshRouter {
  dialer: Dialer;
  dials(): number;
  machine(instanceId: string): { keys: string[]; reboots: number; bootId: string } | undefined;
  close(): Promise<void>;
}

export function ec2Query(target: MotoTarget, params: Record<string, string>): Promise<string>;
export function createSshRouter(target: MotoTarget): SshRouter;
