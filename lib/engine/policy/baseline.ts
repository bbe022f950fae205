import type { Finding, Verdict } from '../model';

/**
 * The rules that hold whatever policy a team writes (DESIGN.md "Judge": anything unscannable is never
 * trusted): an image with an `unscannable` finding is quarantined, one reason per finding. A policy
 * file adds rules on top of these; it can never make an unscannable image trusted.
 */
export function baselineVerdict(findings: readonly Finding[]): Verdict {
  const reasons = findings
    .filter((f) => f.type === 'unscannable')
    .map((f) => ({ rule: 'unscannable', message: `${f.id}: ${f.message}` }));
  return { status: reasons.length > 0 ? 'quarantined' : 'trusted', reasons };
}

/**
 * The verdict of a multi-platform image (DESIGN.md "Scan": a verdict per platform and an aggregate for
 * the index): trusted only when every platform is, with each quarantined platform's reasons prefixed by
 * its name. No platform at all is not trusted either.
 */
export function aggregateVerdict(images: readonly { platform: string; verdict: Verdict }[]): Verdict {
  if (images.length === 0) return { status: 'quarantined', reasons: [{ rule: 'unscannable', message: 'no platform image was scanned' }] };
  if (images.length === 1) return images[0].verdict;
  const reasons = images.flatMap((i) => i.verdict.status === 'trusted' ? [] : i.verdict.reasons.map((r) => ({ rule: r.rule, message: `${i.platform}: ${r.message}` })));
  const quarantined = images.some((i) => i.verdict.status !== 'trusted');
  return { status: quarantined ? 'quarantined' : 'trusted', reasons };
}
