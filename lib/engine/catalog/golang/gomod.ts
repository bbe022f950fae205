/**
 * go.mod parser (grammar: https://go.dev/ref/mod#go-mod-file-grammar), with Trivy's
 * `pkg/dependency/parser/golang/mod` semantics so that the corpus `golang/trivy-golang-mod-*` agrees:
 * the main module is the `root` entry (no version); `require` lines are `direct` unless marked
 * `// indirect`; `// indirect` requirements are skipped when the `go` directive is < 1.17 or missing
 * (before Go 1.17 go.mod did not list the full indirect graph, https://go.dev/ref/mod#graph-pruning);
 * `replace` directives are applied (a left-hand version must match the required one, a local-path
 * right-hand side removes the module); `exclude` and `retract` are ignored.
 */

import { boundedLines, checkTextSize } from '../bounds';

/** Options, named as in the corpus `expected.json` `options`. */
export interface GoModOptions {
  /** Apply `replace` directives (default true). */
  readonly replace?: boolean;
  /** Add `stdlib` at the minimal toolchain version (`toolchain`, else `go`) (default false). */
  readonly useMinVersion?: boolean;
}

/** One module of a go.mod, Trivy-style. */
export interface GoModEntry {
  readonly name: string;
  /** Absent for the root (main) module. */
  readonly version?: string;
  readonly relationship: 'root' | 'direct' | 'indirect';
}

interface Directive { readonly verb: string; readonly args: string[]; readonly comment: string }

/** Splits one line into tokens (unquoting "..." and `...`) and its trailing `//` comment. */
function tokenize(line: string): { tokens: string[]; comment: string } {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '/' && line[i + 1] === '/') return { tokens, comment: line.slice(i + 2).trim() };
    if (c === '"' || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < line.length && line[j] !== c) {
        if (c === '"' && line[j] === '\\' && j + 1 < line.length) j++;
        s += line[j];
        j++;
      }
      tokens.push(s);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < line.length && !/[\s]/.test(line[j]!) && !(line[j] === '/' && line[j + 1] === '/')) j++;
    tokens.push(line.slice(i, j));
    i = j;
  }
  return { tokens, comment: '' };
}

/** Flattens go.mod into directives; `verb ( ... )` blocks become one directive per inner line. */
function directives(text: string): Directive[] {
  const out: Directive[] = [];
  let block: string | undefined;
  checkTextSize(text.length, 'go.mod');
  for (const [line] of boundedLines(text, 'go.mod', 'lf')) {
    const { tokens, comment } = tokenize(line);
    if (block !== undefined) {
      if (tokens.length === 1 && tokens[0] === ')') { block = undefined; continue; }
      if (tokens.length) out.push({ verb: block, args: tokens, comment });
      continue;
    }
    if (!tokens.length) continue;
    if (tokens.length === 2 && tokens[1] === '(') { block = tokens[0]; continue; }
    if (tokens.length === 3 && tokens[1] === '(' && tokens[2] === ')') continue;
    out.push({ verb: tokens[0]!, args: tokens.slice(1), comment });
  }
  return out;
}

/** `// indirect` marker as cmd/go's modfile.isIndirect reads it. */
function isIndirect(comment: string): boolean {
  return comment === 'indirect' || comment.startsWith('indirect;');
}

/** Major.minor of a `go` directive compared with 1.17. */
function lessThan117(v: string | undefined): boolean {
  if (!v) return true;
  const m = /^(\d+)\.(\d+)/.exec(v);
  if (!m) return true;
  const maj = Number(m[1]);
  return maj < 1 || (maj === 1 && Number(m[2]) < 17);
}

/** True for a replacement that is a filesystem path (https://go.dev/ref/mod#go-mod-file-replace). */
function isLocalPath(p: string): boolean {
  return p.startsWith('./') || p.startsWith('../') || p.startsWith('/') || p === '.' || p === '..' || /^[A-Za-z]:[\\/]/.test(p);
}

/** Toolchain version as `vX.Y.Z` (`go1.22.5` → `v1.22.5`, `1.22` → `v1.22.0`). */
function canonicalGo(v: string): string | undefined {
  const m = /^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v);
  return m ? `v${m[1]}.${m[2]}.${m[3] ?? '0'}` : undefined;
}

/**
 * Parses a go.mod into root, direct and indirect modules. Throws `Error` on a file with neither a
 * `module` directive nor any requirement (callers turn that into an unknown).
 */
export function parseGoMod(text: string, options: GoModOptions = {}): GoModEntry[] {
  const replace = options.replace ?? true;
  const ds = directives(text);
  let module: string | undefined;
  let goVer: string | undefined;
  let toolchain: string | undefined;
  const reqs: Directive[] = [];
  const reps: Directive[] = [];
  for (const d of ds) {
    if (d.verb === 'module') module = d.args[0];
    else if (d.verb === 'go') goVer = d.args[0];
    else if (d.verb === 'toolchain') toolchain = d.args[0];
    else if (d.verb === 'require' && d.args.length >= 2) reqs.push(d);
    else if (d.verb === 'replace') reps.push(d);
  }
  if (!module && !reqs.length) throw new Error('go.mod has no module directive');
  const skipIndirect = lessThan117(goVer);
  const pkgs = new Map<string, GoModEntry>();
  for (const r of reqs) {
    const indirect = isIndirect(r.comment);
    if (skipIndirect && indirect) continue;
    pkgs.set(r.args[0]!, { name: r.args[0]!, version: r.args[1]!, relationship: indirect ? 'indirect' : 'direct' });
  }
  if (replace) {
    for (const r of reps) {
      const arrow = r.args.indexOf('=>');
      if (arrow < 1) continue;
      const [oldPath, oldVer] = r.args.slice(0, arrow);
      const [newPath, newVer] = r.args.slice(arrow + 1);
      const old = oldPath ? pkgs.get(oldPath) : undefined;
      if (!old || !newPath) continue;
      if (oldVer && old.version !== oldVer) continue;
      pkgs.delete(oldPath!);
      if (!newVer || isLocalPath(newPath)) continue; // replaced by a local directory: not a published module
      pkgs.set(newPath, { name: newPath, version: newVer, relationship: old.relationship });
    }
  }
  const out: GoModEntry[] = [];
  if (module) out.push({ name: module, relationship: 'root' });
  if (options.useMinVersion) {
    const v = toolchain ? canonicalGo(toolchain) : goVer ? canonicalGo(goVer) : undefined;
    if (v) out.push({ name: 'stdlib', version: v, relationship: 'direct' });
  }
  for (const p of pkgs.values()) out.push(p);
  return out;
}
