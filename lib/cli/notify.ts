/**
 * Slack alerts from the CLI (DESIGN.md step 6 "Fan out", for a laptop or a CI runner without the
 * pipeline): after a scan is recorded, a verdict transition of the image the user named (new
 * quarantine, back to trusted) and exceptions covering it that expire within 7 days are posted to the
 * webhook in `TRUSTCTL_SLACK_WEBHOOK_URL` (or the Secrets Manager secret in
 * `TRUSTCTL_SLACK_WEBHOOK_SECRET_ID`) — once per transition, whatever the number of scans: a file
 * ledger next to the verdict store remembers what was sent. Slack never decides the exit code and
 * never blocks recording (RELIABILITY.md 34): a failed delivery is one line on stderr.
 */
import { dirname, join } from 'node:path';
import type { RecordedVerdict } from '../engine/record-scan';
import type { ScanResult } from '../engine/scan-image';
import type { Policy } from '../engine/policy/schema';
import { FileNotificationLedger } from '../notify/file-ledger';
import { NotificationQueue } from '../notify/queue';
import { SlackNotifier } from '../notify/slack';
import { exceptionRecordsOf, expiringExceptions, verdictTransition, type Notification } from '../notify/transitions';
import { webhookUrlSourceFromEnv } from '../notify/webhook-url';

/** The notifications a recorded scan calls for: transitions of the root digest (or, for a partial index scan, of each platform recorded) and expiring exceptions. */
export function scanNotifications(result: ScanResult, recorded: readonly RecordedVerdict[], policy: Policy | undefined, now = Date.now()): Notification[] {
  const root = recorded.filter((r) => r.digest === result.digest);
  const subjects = root.length > 0 ? root : recorded;
  const out: Notification[] = [];
  for (const r of subjects) {
    if (!r.written) continue;
    const t = verdictTransition(r.previous, r.current);
    if (t) out.push(t);
  }
  if (policy && policy.exceptions.length > 0) {
    out.push(...expiringExceptions({ digest: result.digest, ref: result.ref }, exceptionRecordsOf(policy.exceptions), { now }));
  }
  return out;
}

/**
 * Delivers the scan's notifications when a webhook is configured; returns the lines to print on
 * stderr (what was sent, what failed — never the URL). No webhook: nothing, silently.
 */
export async function notifyScan(result: ScanResult, recorded: readonly RecordedVerdict[], policy: Policy | undefined, verdictDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  // Loopback http is allowed: a local relay or a test server never leaves the machine.
  const webhook = webhookUrlSourceFromEnv(env, { allowInsecureLoopback: true });
  if (!webhook) return '';
  const notifications = scanNotifications(result, recorded, policy);
  if (notifications.length === 0) return '';
  const ledger = new FileNotificationLedger(join(dirname(verdictDir), 'notifications'));
  // The CLI prints one line per delivery itself (below): the notifier's JSON log lines would repeat them.
  const quiet = { info: () => undefined, warn: () => undefined };
  const queue = new NotificationQueue(new SlackNotifier({ webhook, ledger, logger: quiet }), { logger: quiet });
  const findings = result.images.flatMap((i) => i.findings);
  for (const n of notifications) queue.enqueue(n, { findings });
  let out = '';
  for (const o of await queue.drain()) {
    out += o.status === 'failed' ? `slack ${o.kind}: not delivered (${o.error.message})\n` : `slack ${o.kind}: ${o.status}\n`;
  }
  return out;
}
