/**
 * The notification ledger: which notifications were already sent, by dedupe key
 * (./transitions.ts). Every handler may see the same event twice (DESIGN.md "Promises": idempotent
 * at least once); the ledger is what makes the Slack post happen once.
 *
 * Protocol: {@link NotificationLedger.claim} before posting — only the caller that gets `true` posts;
 * {@link NotificationLedger.release} when delivery finally fails, so that a later run (the next
 * stream retry, the next nightly) can claim and try again. A process that dies between claim and
 * post loses that one message: the ledger prefers a missed duplicate to a flood of them.
 */

/** Once-only claims of dedupe keys. */
export interface NotificationLedger {
  /** True for the first caller of `key` (it must post); false while the key stays claimed. Atomic across callers sharing the ledger. */
  claim(key: string): Promise<boolean>;
  /** Gives a claimed key back after a delivery that failed for good. Releasing an unclaimed key is a no-op. */
  release(key: string): Promise<void>;
}

/** A {@link NotificationLedger} in process memory: one process's runs (tests, a long-lived `trustctl serve`). */
export class MemoryNotificationLedger implements NotificationLedger {
  private readonly claimed = new Set<string>();

  /** True the first time `key` is claimed (and again after a release). */
  async claim(key: string): Promise<boolean> {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  /** Forgets `key`. */
  async release(key: string): Promise<void> {
    this.claimed.delete(key);
  }

  /** True while `key` is claimed (for tests and diagnostics). */
  has(key: string): boolean {
    return this.claimed.has(key);
  }
}
