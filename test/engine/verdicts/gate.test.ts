import type { Digest } from '../../../lib/engine/model';
import { gateDecision } from '../../../lib/engine/verdicts/gate';
import type { StoredVerdict } from '../../../lib/engine/verdicts/port';

const digest = `sha256:${'a'.repeat(64)}` as Digest;
const verdict = (over: Partial<StoredVerdict> = {}): StoredVerdict => ({
  digest, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
  policyHash: 'sha256:p', feedRevision: '2026-11-01T00:00:00Z', plugins: [], evaluatedAt: '2026-11-20T00:00:00Z', revision: 3, ...over,
});
const now = new Date('2026-11-28T00:00:00Z');

describe('gateDecision (RELIABILITY.md 40: fail closed)', () => {
  it.each([
    ['trusted and fresh passes', verdict(), undefined, true, undefined],
    ['trusted, no max age given: any age passes', verdict({ evaluatedAt: '2020-01-01T00:00:00Z' }), undefined, true, undefined],
    ['trusted within max age passes', verdict(), 9 * 86_400_000, true, undefined],
    ['exactly at max age passes', verdict(), 8 * 86_400_000, true, undefined],
    ['older than max age is stale', verdict(), 7 * 86_400_000, false, 'stale'],
    ['an unreadable evaluation time is stale, not fresh', verdict({ evaluatedAt: 'yesterday' }), 86_400_000, false, 'stale'],
    ['quarantined fails', verdict({ status: 'quarantined', reasons: [{ rule: 'malware', message: 'EICAR', findings: ['EICAR-Test-File'] }] }), undefined, false, 'quarantined'],
    ['no verdict fails', undefined, undefined, false, 'no-verdict'],
  ])('%s', (_n, v, maxAgeMs, pass, problem) => {
    const d = gateDecision(digest, v, { now, ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) });
    expect(d.pass).toBe(pass);
    expect(d.problem).toBe(problem);
    expect(d.message.length).toBeGreaterThan(5);
  });

  it('names the rules that quarantined', () => {
    const d = gateDecision(digest, verdict({ status: 'quarantined', reasons: [{ rule: 'secrets', message: 'a', findings: [] }, { rule: 'secrets', message: 'b', findings: [] }, { rule: 'vulnerabilities', message: 'c', findings: [] }] }), { now });
    expect(d.message).toBe('quarantined by secrets, vulnerabilities (3 reasons)');
  });
});
