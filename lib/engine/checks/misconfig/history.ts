/**
 * Reading the image config's `history[].created_by` lines: what the builders record there, and the
 * three things the misconfiguration rules look for in them (a download piped into a shell, `ADD`
 * from a URL, build arguments with secret-looking names recorded with their value).
 *
 * What the builders write (one line per Dockerfile instruction):
 * - BuildKit (Docker ≥ 23's default, buildx): the instruction as written, with `# buildkit` at the
 *   end — `RUN /bin/sh -c apt-get update # buildkit`, `ADD https://x/y.tgz /opt/ # buildkit`,
 *   `ARG VERSION=1.2`, `ENV PATH=…`. A RUN that sees build arguments gets them as a prefix:
 *   `RUN |2 TARGETARCH=amd64 NPM_TOKEN=abc /bin/sh -c npm ci # buildkit`.
 * - The classic builder: `/bin/sh -c <command>` for RUN, `/bin/sh -c #(nop)  <INSTR> …` for the
 *   metadata instructions (`ARG NAME=value`, `LABEL …`), `|N K=V … /bin/sh -c <command>` for a RUN
 *   with build arguments. It records `ADD <url>` as `ADD file:<hash> in <dest>` — indistinguishable
 *   from a local file, so a remote ADD by the classic builder cannot be seen in the history.
 *
 * Nothing here is a shell parser: the command is split on `;`, `&&`, `||`, `&` and newlines, then on
 * `|`, ignoring quotes. That is enough for the idioms the rules target and errs towards reporting.
 * No function here returns a build argument's value: callers only ever get names.
 */

/** A `created_by` line as the rules see it. */
export interface HistoryLine {
  /** Index in `config.history` (empty layers included): the finding's path is `history[index]`. */
  readonly index: number;
  readonly createdBy: string;
}

const BUILDKIT_SUFFIX = /\s+#\s*buildkit\s*$/;
const NOP = /^(?:\S*\/)?(?:ba)?sh\s+-c\s+#\(nop\)\s*/;
/** A build-argument prefix `|N ` (classic builder: at the start; BuildKit: after `RUN `). */
const ARGS_PREFIX = /^(?:RUN\s+)?\|(\d+)\s+/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const NAME_VALUE = /(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g;

/** The instruction of a metadata line (`ARG`, `ADD`, `LABEL`…), or `undefined` for a RUN line. */
export function metadataInstruction(createdBy: string): { readonly instruction: string; readonly rest: string } | undefined {
  let s = createdBy.trim().replace(BUILDKIT_SUFFIX, '');
  const nop = NOP.exec(s);
  if (nop) s = s.slice(nop[0].length);
  else if (/^(?:RUN\s|\|\d+\s|(?:\S*\/)?(?:ba)?sh\s+-c\s)/.test(s)) return undefined;
  const m = /^([A-Z]+)(?:\s+([\s\S]*))?$/.exec(s);
  return m ? { instruction: m[1], rest: (m[2] ?? '').trim() } : undefined;
}

/**
 * The shell command of a RUN line — without `RUN`, the `|N K=V…` build-argument prefix and the
 * `# buildkit` marker — or `undefined` when the line is not a RUN (metadata lines, `#(nop)`).
 */
export function runCommand(createdBy: string): string | undefined {
  let s = createdBy.trim().replace(BUILDKIT_SUFFIX, '');
  if (NOP.test(s)) return undefined;
  const buildkitRun = /^RUN\s+/.exec(s);
  const args = ARGS_PREFIX.exec(s);
  if (args) {
    s = s.slice(args[0].length);
    // Drop the N `KEY=value` words (a value with spaces leaves stray words: the command word of the
    // first stage is then not recognised, which only loses that stage).
    for (let n = Number(args[1]); n > 0; n--) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*=\S*)/.exec(s);
      if (!m) break;
      s = s.slice(m[0].length);
    }
    return s.trim();
  }
  if (buildkitRun) return s.slice(buildkitRun[0].length).trim();
  if (/^(?:\S*\/)?(?:ba)?sh\s+-c\s/.test(s)) return s;
  // Other builders (buildah, kaniko…) may record the bare command; a line that looks like a
  // Dockerfile instruction is metadata.
  return /^[A-Z]+(?:\s|$)/.test(s) ? undefined : s;
}

const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish']);
/** Interpreters that run a script read from stdin when given no argument or `-`. */
const INTERPRETERS = /^(?:python[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|php[0-9.]*)$/;
/** Words that run the next word as the command. */
const WRAPPERS: ReadonlySet<string> = new Set(['sudo', 'doas', 'env', 'exec', 'command', 'nohup', 'time', 'nice', 'busybox', 'su-exec', 'gosu']);
const FETCHERS: ReadonlySet<string> = new Set(['curl', 'wget']);

function baseWord(token: string): string {
  const t = token.replace(/^[("'`{$]+/, '').replace(/[)"'`};]+$/, '');
  return t.slice(t.lastIndexOf('/') + 1);
}

/** A shell option cluster that takes a command string (`-c`, `-ec`, `-xec`…). */
function isCommandStringOption(t: string): boolean {
  return /^-[a-zA-Z]*c[a-zA-Z]*$/.test(t);
}

/** The words of one pipeline stage after assignments and wrappers: `[command, ...args]`. */
function stageWords(stage: string, skipShellC: boolean): string[] {
  const tokens = stage.trim().split(/\s+/).filter((t) => t !== '');
  let i = 0;
  while (i < tokens.length) {
    const w = baseWord(tokens[i]);
    if (w === '' || ASSIGNMENT.test(tokens[i].replace(/^[("'`]+/, ''))) {
      i++;
      continue;
    }
    if (WRAPPERS.has(w)) {
      i++;
      // The wrapper's own options (`sudo -E`, `env -i`, `nice -n 10` loses its number: harmless).
      while (i < tokens.length && tokens[i].startsWith('-')) i++;
      continue;
    }
    if (skipShellC && SHELLS.has(w)) {
      // `sh -c <command>` / `bash -o pipefail -c <command>`: the command starts after the -c.
      let j = i + 1;
      while (j < tokens.length && tokens[j].startsWith('-') && !isCommandStringOption(tokens[j])) {
        j += tokens[j] === '-o' || tokens[j] === '+o' ? 2 : 1;
      }
      if (j < tokens.length && isCommandStringOption(tokens[j])) {
        i = j + 1;
        continue;
      }
    }
    break;
  }
  return tokens.slice(i).map((t, k) => (k === 0 ? baseWord(t) : t));
}

/** True when a pipeline stage runs what it reads on stdin as a script. */
function isScriptConsumer(stage: string): string | undefined {
  const [cmd, ...args] = stageWords(stage, false);
  if (cmd === undefined) return undefined;
  if (SHELLS.has(cmd)) {
    // `| sh`, `| bash -s -- -y`, `| sudo -E bash -`: yes; `| sh -c 'tar x'` runs its own string.
    return args.some((a) => isCommandStringOption(a)) ? undefined : cmd;
  }
  if (INTERPRETERS.test(cmd)) {
    // `| python3 -` runs stdin; `| python3 -c "import json…"` parses it.
    const first = args[0]?.replace(/["']/g, '');
    return first === undefined || first === '-' ? cmd : undefined;
  }
  return undefined;
}

/** A URL without credentials, query or fragment (they may carry tokens). */
export function safeUrl(raw: string): string | undefined {
  const t = raw.replace(/^["'(]+/, '').replace(/["');]+$/, '');
  if (!/^(?:https?|ftp):\/\//i.test(t)) return undefined;
  try {
    const u = new URL(t);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

/** What {@link findPipeToShell} reports: the download tool, its URL when literal, and the shell. */
export interface PipeToShell {
  readonly fetcher: string;
  readonly url?: string;
  readonly shell: string;
}

/** `sh -c "$(curl …)"`, `bash <(wget …)`, `eval "$(curl …)"`, `. <(curl …)`. */
const SUBSTITUTION = /(?:^|[\s;&|(])((?:\S*\/)?(?:ba|z|k|da|mk|a)?sh|eval|source|\.)\s+(?:-\S+\s+)*["']?(?:\$\(|<\(|`)\s*((?:\S*\/)?(?:curl|wget))\b([^)`]*)/;

/**
 * A download piped into a shell in a RUN command: `curl … | sh`, `wget -qO- … | sudo bash`,
 * `curl … | python3 -`, or a download substituted into a shell's command line. `undefined` when
 * there is none (downloading to a file and checking it before running it is fine).
 */
export function findPipeToShell(command: string): PipeToShell | undefined {
  for (const segment of command.split(/\|\||&&|;|\n|(?<![|>])&(?![>&])/)) {
    const stages = segment.split(/\|&?/);
    for (let i = 0; i < stages.length - 1; i++) {
      const words = stageWords(stages[i], true);
      if (words.length === 0 || !FETCHERS.has(words[0])) continue;
      for (let j = i + 1; j < stages.length; j++) {
        const shell = isScriptConsumer(stages[j]);
        if (shell) {
          const url = words.slice(1).map(safeUrl).find((u) => u !== undefined);
          return { fetcher: words[0], shell, ...(url ? { url } : {}) };
        }
      }
    }
  }
  const m = SUBSTITUTION.exec(command);
  if (m) {
    const url = m[3].split(/\s+/).map(safeUrl).find((u) => u !== undefined);
    return { fetcher: baseWord(m[2]), shell: baseWord(m[1]), ...(url ? { url } : {}) };
  }
  return undefined;
}

/**
 * The remote sources of an `ADD` line (`ADD https://x/app.tgz /opt/`), without credentials or query.
 * Empty when the line is no ADD, adds local files only, or pins the download with `--checksum=`.
 */
export function remoteAddSources(createdBy: string): string[] {
  const meta = metadataInstruction(createdBy);
  if (!meta || meta.instruction !== 'ADD') return [];
  const words = meta.rest.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter((w) => w !== '');
  if (words.some((w) => w.startsWith('--checksum='))) return [];
  const sources = words.filter((w) => !w.startsWith('--')).slice(0, -1);
  return sources.map(safeUrl).filter((u): u is string => u !== undefined);
}

/** Name components that make a build argument a secret by themselves. */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'PASSWORD', 'PASSWORDS', 'PASSWD', 'PASS', 'PASSPHRASE', 'SECRET', 'SECRETS', 'TOKEN', 'TOKENS',
  'CREDENTIAL', 'CREDENTIALS', 'CREDS', 'APIKEY', 'ACCESSKEY', 'PRIVATEKEY', 'SECRETKEY', 'AUTHTOKEN',
]);
/** Words that make `<word>_KEY` a secret (`API_KEY`, `AWS_ACCESS_KEY_ID`, `SSH_PRIVATE_KEY`…). */
const KEY_QUALIFIERS: ReadonlySet<string> = new Set(['API', 'ACCESS', 'PRIVATE', 'SECRET', 'SIGNING', 'ENCRYPTION', 'MASTER', 'LICENSE', 'DEPLOY', 'SSH']);
/** A last component that names where a secret is, not the secret (`PASSWORD_FILE=/run/secrets/pw`). */
const NOT_A_VALUE: ReadonlySet<string> = new Set(['FILE', 'PATH', 'DIR', 'URL', 'ENDPOINT', 'LENGTH', 'TTL', 'EXPIRY', 'POLICY', 'NAME', 'TYPE', 'HEADER', 'MODE']);

/**
 * True when a build-argument name looks like it holds a secret: a component such as PASSWORD,
 * PASSWD, PASS, PASSPHRASE, SECRET, TOKEN, CREDENTIALS, APIKEY; `<API|ACCESS|PRIVATE|SECRET|SIGNING|
 * ENCRYPTION|MASTER|LICENSE|DEPLOY|SSH>_KEY`; or a last component AUTH (`NPM_AUTH`). Components are
 * split on `_`, `-` and `.`, case-insensitively. Names ending in FILE, PATH, DIR, URL… point to a
 * secret rather than hold one and are not reported; neither is `GPG_KEY` (a public key id) nor `PWD`.
 */
export function isSecretName(name: string): boolean {
  const parts = name.toUpperCase().split(/[_.-]+/).filter((p) => p !== '');
  if (parts.length === 0 || NOT_A_VALUE.has(parts[parts.length - 1])) return false;
  if (parts.some((p) => SECRET_WORDS.has(p))) return true;
  if (parts[parts.length - 1] === 'AUTH') return true;
  for (let i = 1; i < parts.length; i++) if (parts[i] === 'KEY' && KEY_QUALIFIERS.has(parts[i - 1])) return true;
  return false;
}

/** Names of the build arguments a history line records WITH a non-empty value (values never leave). */
export function recordedBuildArgs(createdBy: string): string[] {
  const s = createdBy.trim().replace(BUILDKIT_SUFFIX, '');
  const meta = metadataInstruction(createdBy);
  if (meta?.instruction === 'ARG') return namesWithValue(meta.rest, Number.POSITIVE_INFINITY);
  const args = ARGS_PREFIX.exec(s);
  if (args) return namesWithValue(s.slice(args[0].length), Number(args[1]));
  return [];
}

/** The first `max` `NAME=` assignments of `text` whose value is not empty (`NAME=`, `NAME=""`). */
function namesWithValue(text: string, max: number): string[] {
  const out: string[] = [];
  let seen = 0;
  for (const m of text.matchAll(NAME_VALUE)) {
    if (seen++ >= max) break;
    const after = text.slice((m.index ?? 0) + m[0].length);
    const empty = after === '' || /^\s/.test(after) || /^(?:""|'')(?:\s|$)/.test(after);
    if (!empty) out.push(m[1]);
  }
  return out;
}
