import type { AuthenticationRequest } from '../http/fake-api.js';
import { paginateDigitalOcean } from '../http/pagination.js';
import { type FakeReply, type RouteContext, reply } from '../http/routes.js';
import type { MachineBackend } from '../machines/backend.js';
import { type DoState, doError } from './state.js';

/** How long DigitalOcean's background work takes in the emulator, in ms (at the least: see DoProgress). */
export interface DoTiming {
  /** From the create call to `active`, once the machine has started. Default 1000. */
  bootMs: number;
  /** A droplet or image action, once its work is done. Default 500. */
  actionMs: number;
  /** A custom image import, once its URL has been read. Default 500. */
  importMs: number;
}

/** What the routes of the emulated API share. */
export interface DoContext {
  state: DoState;
  backend: MachineBackend;
  flavor: 'minimal' | 'systemd';
  timing: DoTiming;
  /** The id of the image standing for kola's test image (the one qemu machines boot). */
  testImageId: number;
  log: (line: string) => void;
  /** Where snapshots' disks are kept (made on first use, removed when the emulator stops). */
  snapshotDir(): string;
  /** Aborted when the emulator stops: machine starts and image downloads end with it. */
  signal: AbortSignal;
}

/**
 * The API's credential check, run before faults, validation and the route, as the real API checks
 * `Authorization: Bearer <token>` first: 401 `unauthorized` without it.
 */
export function bearerToken(token: string): (request: AuthenticationRequest) => FakeReply | undefined {
  return (request) =>
    request.headers.authorization === `Bearer ${token}`
      ? undefined
      : doError(401, 'unauthorized', 'Unable to authenticate you');
}

/** A list answer: `{<key>: page, links, meta}`. */
export function listReply(key: string, items: readonly unknown[], ctx: RouteContext<unknown>) {
  const page = paginateDigitalOcean(items, ctx);
  return reply(200, { [key]: page.items, links: page.links, meta: page.meta });
}
