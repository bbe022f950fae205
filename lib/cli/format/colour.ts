/**
 * Colour for humans only: on when the stream is a terminal, off when piped, and off whenever
 * `NO_COLOR` is set (https://no-color.org) — `FORCE_COLOR` turns it on for CI logs that render ANSI.
 */
export interface Paint {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
  /** Colours a verdict status word: green trusted, red anything else. */
  readonly status: (status: string) => string;
}

const plain = (s: string): string => s;

/** Whether to colour output written to `stream`. */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** ANSI SGR wrappers, or identity functions when colour is off. */
export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  if (!wantsColour(stream, env)) return { red: plain, green: plain, yellow: plain, bold: plain, dim: plain, status: (s) => s.toUpperCase() };
  const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
  const red = sgr(31, 39);
  const green = sgr(32, 39);
  const bold = sgr(1, 22);
  return { red, green, yellow: sgr(33, 39), bold, dim: sgr(2, 22), status: (s) => bold(s === 'trusted' ? green(s.toUpperCase()) : red(s.toUpperCase())) };
}
