import type { FileTree, TreeNode } from '../../layers/file-tree';
import type { Digest, ImageConfig, Severity } from '../../model';
import { type HistoryLine, findPipeToShell, isSecretName, recordedBuildArgs, remoteAddSources, runCommand } from './history';
import { resolveUser } from './user';

/**
 * The misconfiguration rules (issue "Beyond packages", item 3): the explicit list
 * {@link MISCONFIG_RULES}. Each rule has a stable id (`TC-MC-NNN`: trustctl, misconfiguration), a
 * title, a severity, one line of remediation, and reads the image config, its history or the squashed
 * tree. Ids are never reused: a rule that goes away leaves its number behind.
 *
 * | id        | severity | what                                                                 |
 * |-----------|----------|----------------------------------------------------------------------|
 * | TC-MC-001 | high     | runs as root (no `User`, `root`, `0`, `0:0`, or a name with uid 0)     |
 * | TC-MC-002 | medium   | setuid / setgid executable outside the allow-list                     |
 * | TC-MC-003 | high     | world-writable file or directory (no sticky bit) in a system path     |
 * | TC-MC-004 | medium   | an SSH server installed (`/usr/sbin/sshd`, dropbear)                  |
 * | TC-MC-005 | medium   | a download piped into a shell, or `ADD <url>`, in the build history   |
 * | TC-MC-006 | high     | a build argument with a secret-looking name recorded with its value   |
 * | TC-MC-007 | low      | no HEALTHCHECK (or `HEALTHCHECK NONE`)                                |
 */

/** What a rule sees. */
export interface MisconfigRuleContext {
  readonly config: ImageConfig;
  /** The squashed tree (bodies: only what the check's `wants` asked for, i.e. /etc/passwd). */
  readonly tree: FileTree;
  /** `config.history`, with indexes (empty layers included). */
  readonly history: readonly HistoryLine[];
  /** The layer a history entry produced, when the history's non-empty entries line up with the layers. */
  historyLayer(index: number): Digest | undefined;
  /** Paths (canonical, absolute) whose setuid / setgid bits are expected. */
  readonly setuidAllowList: ReadonlySet<string>;
  /** Records what the rule could not decide. */
  unknown(path: string, reason: string, layer?: string): void;
}

/** One thing a rule found; the check turns it into a finding with the rule's id and severity. */
export interface RuleHit {
  readonly path?: string;
  readonly layer?: string;
  readonly message: string;
}

/** A misconfiguration rule. */
export interface MisconfigRule {
  /** Stable id, `TC-MC-NNN`: the finding's `id`. */
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  /** One line: what to change. */
  readonly remediation: string;
  evaluate(ctx: MisconfigRuleContext): readonly RuleHit[];
}

/**
 * The default setuid / setgid allow-list: the binaries that Debian / Ubuntu, Alpine and RHEL / UBI /
 * Fedora base images ship with those bits, at both their merged-/usr and their historical paths.
 * - shadow / login tools: passwd, su, newgrp, chsh, chfn, gpasswd, expiry and chage (setgid shadow),
 *   unix_chkpwd (the PAM helper; setgid shadow on Debian, setuid on RHEL), pam_timestamp_check;
 * - sudo (and sudoedit when it is a copy rather than a link);
 * - util-linux: mount, umount, wall and write (setgid tty);
 * - ping (iputils, when packaged setuid instead of with file capabilities);
 * - OpenSSH's ssh-keysign and ssh-agent (setgid on older releases), D-Bus's launch helper;
 * - crontab (setgid crontab).
 * `pkexec` is deliberately absent (CVE-2021-4034): an image that needs it lists it itself.
 */
export const DEFAULT_SETUID_ALLOW_LIST: readonly string[] = Object.freeze([
  '/usr/bin/passwd', '/bin/passwd',
  '/usr/bin/su', '/bin/su',
  '/usr/bin/sudo', '/usr/bin/sudoedit',
  '/usr/bin/mount', '/bin/mount',
  '/usr/bin/umount', '/bin/umount',
  '/usr/bin/newgrp', '/usr/bin/chsh', '/usr/bin/chfn', '/usr/bin/gpasswd',
  '/usr/bin/expiry', '/usr/bin/chage',
  '/usr/sbin/unix_chkpwd', '/sbin/unix_chkpwd', '/usr/sbin/pam_timestamp_check', '/sbin/pam_timestamp_check',
  '/usr/bin/wall', '/usr/bin/write', '/usr/bin/bsd-write',
  '/usr/bin/ping', '/bin/ping', '/usr/bin/ping6', '/bin/ping6',
  '/usr/lib/openssh/ssh-keysign', '/usr/libexec/openssh/ssh-keysign', '/usr/bin/ssh-agent',
  '/usr/lib/dbus-1.0/dbus-daemon-launch-helper', '/usr/libexec/dbus-daemon-launch-helper', '/usr/libexec/dbus-1/dbus-daemon-launch-helper',
  '/usr/bin/crontab',
]);

/** Top-level directories whose files belong to the system: /bin, /sbin, /usr, /lib*, /etc, /boot. */
export function isSystemPath(p: string): boolean {
  const first = p.split('/')[1] ?? '';
  return first === 'bin' || first === 'sbin' || first === 'usr' || first === 'etc' || first === 'boot' || first.startsWith('lib');
}

/** Where SSH servers are installed (OpenSSH and dropbear; /sbin for distributions without merged /usr). */
export const SSH_SERVER_PATHS: readonly string[] = ['/usr/sbin/sshd', '/sbin/sshd', '/usr/sbin/dropbear', '/usr/bin/dropbear'];

/** `4755`-style permission bits. */
function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Nodes in a stable order (by path), whatever order the tree keeps them in. */
function sorted(nodes: Iterable<TreeNode>): TreeNode[] {
  return [...nodes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export const RUNS_AS_ROOT: MisconfigRule = {
  id: 'TC-MC-001',
  title: 'Image runs as root',
  severity: 'high',
  remediation: 'Create an unprivileged user and add `USER <uid>` (numeric, non-zero) to the Dockerfile, so that runAsNonRoot can verify it.',
  evaluate(ctx) {
    const user = ctx.config.config?.User;
    const r = resolveUser(user, ctx.tree);
    if (r.root === 'unknown') {
      ctx.unknown('config:User', r.reason);
      return [];
    }
    return r.root ? [{ path: 'config:User', message: r.reason }] : [];
  },
};

export const SETUID_OUTSIDE_ALLOW_LIST: MisconfigRule = {
  id: 'TC-MC-002',
  title: 'setuid / setgid executable outside the allow-list',
  severity: 'medium',
  remediation: 'Remove the bit (`chmod u-s,g-s <file>` in the Dockerfile) or the file; add it to the setuid allow-list only if the image really needs it.',
  evaluate(ctx) {
    const hits: RuleHit[] = [];
    for (const n of sorted(ctx.tree.files())) {
      // Only executables: a set-id bit on a file nobody can execute grants nothing.
      if ((n.mode & 0o6000) === 0 || (n.mode & 0o111) === 0) continue;
      if (ctx.setuidAllowList.has(n.path) || (n.effectivePath !== undefined && ctx.setuidAllowList.has(n.effectivePath))) continue;
      const bits = [(n.mode & 0o4000) !== 0 ? 'setuid' : '', (n.mode & 0o2000) !== 0 ? 'setgid' : ''].filter((b) => b !== '').join(' and ');
      const owner = (n.mode & 0o4000) !== 0 ? `owner uid ${n.uid}` : `group gid ${n.gid}`;
      hits.push({ path: n.path, layer: n.layer, message: `${n.path} is ${bits} (mode ${octalMode(n.mode)}, ${owner}) and not on the setuid allow-list` });
    }
    return hits;
  },
};

export const WORLD_WRITABLE_SYSTEM_FILE: MisconfigRule = {
  id: 'TC-MC-003',
  title: 'World-writable file in a system path',
  severity: 'high',
  remediation: 'Drop the write bit for others (`chmod o-w <path>`); a shared writable directory belongs outside /usr, /etc and /lib and needs the sticky bit.',
  evaluate(ctx) {
    const hits: RuleHit[] = [];
    for (const n of sorted(ctx.tree.entries())) {
      // A symlink's mode means nothing (always 0777 on Linux); implicit directories have no mode of their own.
      if (n.type === 'symlink' || n.implicit || (n.mode & 0o002) === 0) continue;
      if (n.type === 'dir' && (n.mode & 0o1000) !== 0) continue; // sticky, like /tmp: others cannot replace what is not theirs
      if (!isSystemPath(n.effectivePath ?? n.path) && !isSystemPath(n.path)) continue;
      const what = n.type === 'dir' ? 'directory (without the sticky bit)' : n.type === 'other' ? 'special file' : 'file';
      hits.push({ path: n.path, layer: n.layer, message: `${n.path} is a world-writable ${what} in a system path (mode ${octalMode(n.mode)}): any user in the container can change it` });
    }
    return hits;
  },
};

export const SSH_SERVER_INSTALLED: MisconfigRule = {
  id: 'TC-MC-004',
  title: 'SSH server installed',
  severity: 'medium',
  remediation: 'Remove the SSH server package (openssh-server, dropbear); use `kubectl exec` / `docker exec` to get into a container.',
  evaluate(ctx) {
    const hits: RuleHit[] = [];
    const seen = new Set<string>();
    for (const p of SSH_SERVER_PATHS) {
      const n = ctx.tree.resolve(p);
      if (!n || (n.type !== 'file' && n.type !== 'hardlink') || seen.has(n.path)) continue;
      seen.add(n.path);
      hits.push({ path: n.path, layer: n.layer, message: `an SSH server is installed at ${n.path}${n.path === p ? '' : ` (reached as ${p})`}` });
    }
    return hits;
  },
};

export const REMOTE_CODE_IN_BUILD: MisconfigRule = {
  id: 'TC-MC-005',
  title: 'Remote script piped into a shell, or ADD from a URL',
  severity: 'medium',
  remediation: 'Download to a file, verify its checksum or signature (`sha256sum -c`, `ADD --checksum=`), then run it; better, install from a package repository.',
  evaluate(ctx) {
    const hits: RuleHit[] = [];
    for (const h of ctx.history) {
      const layer = ctx.historyLayer(h.index);
      const cmd = runCommand(h.createdBy);
      const pipe = cmd === undefined ? undefined : findPipeToShell(cmd);
      if (pipe) {
        hits.push({
          path: `history[${h.index}]`,
          ...(layer ? { layer } : {}),
          message: `history[${h.index}] pipes a download (${pipe.fetcher}${pipe.url ? ` ${pipe.url}` : ''}) into ${pipe.shell}: the script ran unverified at build time`,
        });
      }
      const urls = remoteAddSources(h.createdBy);
      if (urls.length > 0) {
        hits.push({
          path: `history[${h.index}]`,
          ...(layer ? { layer } : {}),
          message: `history[${h.index}] ADDs ${urls.join(', ')} from the network without a checksum`,
        });
      }
    }
    return hits;
  },
};

export const SECRET_BUILD_ARG: MisconfigRule = {
  id: 'TC-MC-006',
  title: 'Secret passed as a build argument',
  severity: 'high',
  remediation: 'Pass secrets with BuildKit secret mounts (`RUN --mount=type=secret,id=…`), never with ARG / --build-arg; rotate the exposed secret.',
  evaluate(ctx) {
    // One finding per argument name, at its first history entry; the value is never read out.
    const byName = new Map<string, { first: number; count: number }>();
    for (const h of ctx.history) {
      for (const name of new Set(recordedBuildArgs(h.createdBy))) {
        if (!isSecretName(name)) continue;
        const e = byName.get(name);
        if (e) e.count++;
        else byName.set(name, { first: h.index, count: 1 });
      }
    }
    return [...byName].map(([name, { first, count }]) => {
      const layer = ctx.historyLayer(first);
      const more = count > 1 ? ` (and in ${count - 1} more history entr${count === 2 ? 'y' : 'ies'})` : '';
      return {
        path: `history[${first}]`,
        ...(layer ? { layer } : {}),
        message: `history[${first}] records the build argument ${name} with its value (redacted)${more}: anyone who can pull the image can read it`,
      };
    });
  },
};

export const NO_HEALTHCHECK: MisconfigRule = {
  id: 'TC-MC-007',
  title: 'No HEALTHCHECK',
  severity: 'low',
  remediation: 'Add a `HEALTHCHECK CMD …` to the Dockerfile (on Kubernetes, define liveness / readiness probes as well).',
  evaluate(ctx) {
    const test = ctx.config.config?.Healthcheck?.Test;
    if (!test || test.length === 0) return [{ path: 'config:Healthcheck', message: 'the image defines no HEALTHCHECK' }];
    if (test[0] === 'NONE') return [{ path: 'config:Healthcheck', message: 'the image disables its health check (HEALTHCHECK NONE)' }];
    return [];
  },
};

/** Every misconfiguration rule, in id order: the explicit list the check runs. */
export const MISCONFIG_RULES: readonly MisconfigRule[] = Object.freeze([
  RUNS_AS_ROOT,
  SETUID_OUTSIDE_ALLOW_LIST,
  WORLD_WRITABLE_SYSTEM_FILE,
  SSH_SERVER_INSTALLED,
  REMOTE_CODE_IN_BUILD,
  SECRET_BUILD_ARG,
  NO_HEALTHCHECK,
]);
