import type { FileTree } from '../../layers/file-tree';

/**
 * Who a container started from the image runs as: the config's `User` (`user`, `uid`, `user:group`,
 * `uid:gid`; empty or absent means root), a name resolved to its uid through the image's own
 * `/etc/passwd`, as runc does when it starts the container.
 */

/** The file the user name is resolved with. */
export const PASSWD_PATH = '/etc/passwd';

/** How {@link resolveUser} decided. */
export type UserResolution =
  /** Runs as uid 0. `reason` says why, for the finding's message. */
  | { readonly root: true; readonly reason: string }
  /** Runs as another uid, or cannot start at all (a name that is not in /etc/passwd). */
  | { readonly root: false; readonly uid?: number }
  /** The name could not be resolved: /etc/passwd exists but its body was not read whole. */
  | { readonly root: 'unknown'; readonly reason: string };

/** uid of each user name in an /etc/passwd body (first entry of a name wins, as getpwnam does). */
export function parsePasswd(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2])) continue;
    if (!out.has(f[0])) out.set(f[0], Number(f[2]));
  }
  return out;
}

/** Resolves `config.User` against the squashed tree's /etc/passwd. */
export function resolveUser(user: string | undefined, tree: FileTree): UserResolution {
  const u = (user ?? '').trim();
  if (u === '') return { root: true, reason: 'config.User is not set, so the container runs as root (uid 0)' };
  const name = u.split(':')[0];
  if (name === '') return { root: true, reason: `config.User ${JSON.stringify(u)} names only a group, so the container runs as root (uid 0)` };
  if (/^\d+$/.test(name)) {
    const uid = Number(name);
    return uid === 0 ? { root: true, reason: `config.User ${JSON.stringify(u)} is uid 0, so the container runs as root` } : { root: false, uid };
  }
  const node = tree.resolve(PASSWD_PATH);
  const body = tree.readFile(PASSWD_PATH);
  if (node && (node.type === 'file' || node.type === 'hardlink') && (body === undefined || node.truncated)) {
    return { root: 'unknown', reason: `config.User ${JSON.stringify(u)} could not be resolved to a uid: the body of ${PASSWD_PATH} was not read whole` };
  }
  const uid = body === undefined ? undefined : parsePasswd(body.toString('utf8')).get(name);
  if (uid === 0) return { root: true, reason: `config.User ${JSON.stringify(u)} has uid 0 in ${PASSWD_PATH}, so the container runs as root` };
  if (uid === undefined && name === 'root') return { root: true, reason: `config.User ${JSON.stringify(u)} names root, so the container runs as root` };
  // A name that is not in /etc/passwd: runc refuses to start the container ("unable to find user").
  return uid === undefined ? { root: false } : { root: false, uid };
}
