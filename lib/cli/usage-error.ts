import { TrustError } from '../engine/errors';

/**
 * A command line that parses but cannot be carried out as asked (conflicting flags, an unreadable
 * input file): exit 2 with the message, like commander's own argument errors — but raised from an
 * action, where commander would not print it.
 */
export class UsageError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}
