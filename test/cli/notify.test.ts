import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../lib/local/builder/image-builder';
import { writeOciLayout } from '../../lib/local/builder/writers';
import { trustctl } from '../helpers/cli';
import { SHARED } from '../helpers/corpus';
import { type SlackServer, startSlackServer } from '../helpers/slack-server';

const KEY = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBVy2vB0dQ2xL5qXk3rA1mZ7tq9kDzrJQnAm9VhGZp8SgAAAJgR5Jt9EeSb', '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
const LOCK = 'version = 3\n\n[[package]]\nname = "serde"\nversion = "1.0.197"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n';

describe('trustctl scan → Slack on verdict transitions (a real local Slack stand-in)', () => {
  let dir: string;
  let slack: SlackServer;
  const saved = process.env.TRUSTCTL_SLACK_WEBHOOK_URL;
  const image = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: LOCK }, { path: 'home/app/.ssh/id_ed25519', body: KEY }] }] });
  let target: string;
  const scan = (...extra: string[]) => trustctl('scan', target, '--no-cache', '--data-dir', join(dir, 'adv'), '--verdict-dir', join(dir, 'data', 'verdicts'), ...extra);
  const texts = () => slack.posts.map((p) => JSON.stringify(p));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-notify-'));
    writeOciLayout(join(dir, 'img'), image, { tag: 'x' });
    target = `oci:${join(dir, 'img')}:x`;
    const sync = await trustctl('feeds', 'sync', '--feed', join(SHARED, 'feeds', 'osv', 'crates.io', 'all.zip'), '--data-dir', join(dir, 'adv'));
    if (sync.code !== 0) throw new Error(sync.err);
    slack = await startSlackServer();
    process.env.TRUSTCTL_SLACK_WEBHOOK_URL = slack.webhookUrl;
  }, 60_000);
  afterAll(async () => {
    if (saved === undefined) delete process.env.TRUSTCTL_SLACK_WEBHOOK_URL;
    else process.env.TRUSTCTL_SLACK_WEBHOOK_URL = saved;
    await slack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a new quarantine posts once; re-scans with the same outcome post nothing; back to trusted posts once, with the expiring exception', async () => {
    const first = await scan();
    expect(first.code).toBe(1);
    expect(first.err).toMatch(/slack new-quarantine: sent/);
    expect(slack.posts).toHaveLength(1);
    expect(texts()[0]).toContain(image.root.digest);
    // Still quarantined: no transition, no post (RELIABILITY.md 34: quiet unless something changed).
    const again = await scan();
    expect(again.err).not.toMatch(/slack/);
    expect(slack.posts).toHaveLength(1);
    // An exception lifts the key: back to trusted; it expires within 7 days, which is news too.
    const report = JSON.parse((await scan('--format', 'json', '--no-record')).out) as { findings: { type: string; id: string }[] };
    const id = report.findings.find((f) => f.type === 'secret')!.id;
    const expires = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, `apiVersion: trustctl/v1\nkind: Policy\nexceptions:\n  - scope: { digest: "${image.root.digest}" }\n    finding: ${id}\n    owner: platform@example.com\n    reason: test key, rotated\n    expires: "${expires}"\n`);
    const lifted = await scan('--policy', policy);
    expect(lifted.code).toBe(0);
    expect(lifted.err).toMatch(/slack back-to-trusted: sent/);
    expect(lifted.err).toMatch(/slack exception-expiring: sent/);
    expect(slack.posts).toHaveLength(3);
    // The exception's expiry is announced once, not on every scan.
    await scan('--policy', policy);
    expect(slack.posts).toHaveLength(3);
  });

  it('Slack failing never changes the verdict or the exit code, and the URL is never printed', async () => {
    const other = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'id_rsa', body: KEY }, { path: 'x', body: 'other' }] }] });
    writeOciLayout(join(dir, 'img2'), other, { tag: 'x' });
    slack.script(5, { status: 500 });
    const r = await trustctl('scan', `oci:${join(dir, 'img2')}:x`, '--no-cache', '--data-dir', join(dir, 'adv'), '--verdict-dir', join(dir, 'data', 'verdicts'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/slack new-quarantine: not delivered/);
    expect(r.err + r.out).not.toContain(slack.token);
    expect((await trustctl('verify', other.root.digest, '--verdict-dir', join(dir, 'data', 'verdicts'))).code).toBe(1);
  });
});
