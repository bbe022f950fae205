import { TrustError } from './errors';

/** A duration flag or setting that is not `<number><unit>…` (`30s`, `24h`, `7d`, `1h30m`). */
export class InvalidDurationError extends TrustError {
  constructor(message: string) {
    super('INVALID_DURATION', message);
  }
}

/**
 * Durations of flags and settings (`verify --wait 5m`, `serve --max-verdict-age 24h`), one spelling
 * for the whole product.
 */

/** Milliseconds per unit of {@link parseDuration}. */
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration as Go's time.ParseDuration writes them, plus days: `500ms`, `30s`, `5m`, `24h`,
 * `7d`, `1h30m`. Returns milliseconds; throws {@link InvalidDurationError} for anything else (a bare
 * number is refused: `--max-verdict-age 7` is ambiguous).
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    at = re.lastIndex;
  }
  if (s.length === 0 || at !== s.length || !Number.isFinite(total)) {
    throw new InvalidDurationError(`invalid duration ${JSON.stringify(text)}: use e.g. 500ms, 30s, 5m, 24h, 7d or 1h30m`);
  }
  return Math.round(total);
}

/** `604800000` → `7d`, `5400000` → `1h30m`: the shortest exact spelling, for messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', UNITS.d], ['h', UNITS.h], ['m', UNITS.m], ['s', UNITS.s], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
