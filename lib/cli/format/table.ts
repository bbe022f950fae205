/** Human-readable byte sizes (powers of 1024, as `docker images` and `skopeo` print them). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

// ANSI SGR sequences (colour.ts) take no columns on a terminal.
 
const visible = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/** Left-aligned columns separated by two spaces; the header row is upper-cased. Cells may be coloured. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header.map((h) => h.toUpperCase()), ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => visible(r[i] ?? ''))));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i] - visible(c))))).join('  ')).join('\n') + '\n';
}
