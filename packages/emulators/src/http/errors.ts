import { MantleError } from '@mantle/cluster';
import type { FakeReply } from './routes.js';

/**
 * Thrown by a route or a helper (an unreadable page token…): the client's request is wrong, and the
 * fake answers with the provider's invalid-request shape.
 */
export class FakeRequestError extends MantleError {
  constructor(message: string) {
    super('emulator.bad-request', message);
  }
}

/** Thrown by a route to answer with this reply from deep inside its own helpers (not found, conflict…). */
export class FakeReplyError extends MantleError {
  readonly reply: FakeReply;
  constructor(reply: FakeReply, message = `answered ${reply.status}`) {
    super('emulator.reply', message);
    this.reply = reply;
  }
}
