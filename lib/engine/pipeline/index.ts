/**
 * The serverless pipeline's flows, pure over ports (DESIGN.md "The data's way"; lambdas/ are thin
 * adapters around these):
 * - {@link scanPushed} — scan queue: an ECR push event → scan → record (steps 1–5);
 * - {@link reevaluate} — rescan queue: re-judge a digest from its stored inventory, or scan one the sweep found (step 7);
 * - {@link fanOut} — verdict table stream: trust tag + Slack on transitions (step 6);
 * - {@link syncFeedsAndTarget} — feed-sync: sync OSV exports, enqueue exactly the affected digests (step 7);
 *   {@link startFeedSync} / {@link syncFeedMessage} — the same, one feed per queue message, continued across invocations;
 * - {@link nightly} — re-evaluate every live digest, sweep the registry for digests without a verdict (step 7).
 */
export * from './errors';
export * from './messages';
export * from './ports';
export { alreadyAnswered, feedInfoOf, pluginsFor, type EvaluationBasis } from './common';
export { scanDigest, scanPushed, type ScanOutcome, type ScanTarget } from './scan';
export { reevaluate, type RescanOutcome } from './rescan';
export { fanOut, type FanOutOutcome } from './fan-out';
export { reportStaleFeeds, syncFeedsAndTarget, type FeedSyncOptions, type FeedSyncReport } from './feed-sync';
export * from './feed-sync-continuation';
export { DEFAULT_MAX_SWEEP_SCANS, nightly, type NightlyReport } from './nightly';
export { DEFAULT_RETRY_POLICY, deliveryOf, hadFairShare, lastScanAttempt, retryDelaySeconds, type Delivery, type RetryPolicy } from './retries';
