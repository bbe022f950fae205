import { spawnGroup } from './process-group';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClamdClient } from '../../lib/engine/checks/malware/clamd';

/**
 * Starts a REAL ClamAV daemon — `/usr/sbin/clamd` from the Debian package `clamav-daemon` — for the
 * malware check's tests: on 127.0.0.1 with a free TCP port and a unix socket, everything (config,
 * log, database, temporary files, socket) in one fresh temporary folder.
 *
 * No signatures can be downloaded here (no freshclam, no main.cvd), and clamd refuses to start with
 * an empty database, so the test writes its own: {@link ClamdDatabase} becomes `test.hdb` (MD5 hash
 * signatures, `md5:size:Name`) and `test.ndb` (body signatures, `Name:0:*:hexbytes`) — formats of
 * https://docs.clamav.net/manual/Signatures/HashSignatures.html and .../BodySignatureFormat.html.
 * ClamAV knows EICAR only through its database, so the default database holds an EICAR hash
 * signature too ({@link EICAR_CLAMD_NAME}).
 *
 * The config (clamd.conf(5)): `Foreground yes` (we own the process), `LogFile` in the folder, no
 * `User` line — clamd then keeps the invoking user; running as root this way works (clamd only drops
 * privileges when `User` is set) — `TCPAddr 127.0.0.1` + `TCPSocket <port>`, `LocalSocket` in the
 * folder, and `StreamMaxLength` small enough for a test to exceed it.
 *
 * Start it once per test file (beforeAll): it loads a two-line database in well under a second.
 */

/** A running clamd. */
export interface ClamdServer {
  readonly host: string;
  readonly port: number;
  /** The unix socket clamd also listens on. */
  readonly socketPath: string;
  /** The StreamMaxLength it was started with, in bytes. */
  readonly streamMaxLength: number;
  /** Milliseconds from spawning clamd until it answered PONG. */
  readonly startupMs: number;
  /** clamd's log and output so far (for failures). */
  output(): string;
  /** Kills clamd and waits for it to exit; removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** A custom signature database. */
export interface ClamdDatabase {
  /** `.hdb` lines: hash signatures of whole files. */
  readonly hashes?: readonly { readonly md5: string; readonly size: number; readonly name: string }[];
  /** `.ndb` lines: a hex byte sequence anywhere in any file type (target 0, offset `*`). */
  readonly bodies?: readonly { readonly name: string; readonly hex: string }[];
}

/** Options of {@link startClamd}. */
export interface ClamdServerOptions {
  /** The signatures; default {@link DEFAULT_TEST_DATABASE}. Must hold at least one (clamd refuses an empty database). */
  readonly database?: ClamdDatabase;
  /** clamd's StreamMaxLength in bytes. Default 1 MiB. */
  readonly streamMaxLength?: number;
  /** Milliseconds to wait for PONG. Default 30 000. */
  readonly startTimeoutMs?: number;
}

export const CLAMD_BINARY = '/usr/sbin/clamd';
/** The name clamd reports for EICAR with the default test database. */
export const EICAR_CLAMD_NAME = 'Test.EICAR-Hash';
/** A marker string the default test database detects anywhere in a file, and its name. */
export const TEST_MARKER = 'TRUSTCTL-CLAMD-TEST-MARKER-5e1f';
export const TEST_MARKER_NAME = 'Test.Trustctl-Marker';

/** The default test database: EICAR by MD5 (44d88612fea8a8f36de82e1278abb02f, 68 bytes) and {@link TEST_MARKER} as a body signature. */
export const DEFAULT_TEST_DATABASE: ClamdDatabase = {
  hashes: [{ md5: '44d88612fea8a8f36de82e1278abb02f', size: 68, name: EICAR_CLAMD_NAME }],
  bodies: [{ name: TEST_MARKER_NAME, hex: Buffer.from(TEST_MARKER, 'latin1').toString('hex') }],
};

/** A TCP port nobody listens on right now. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Fails with the package to install when clamd is missing: the tests never skip. */
function requireClamd(): void {
  try {
    accessSync(CLAMD_BINARY, constants.X_OK);
  } catch (err) {
    throw new Error(`ClamAV's daemon ${CLAMD_BINARY} is not installed; install the Debian package with \`apt-get install clamav-daemon\``, { cause: err });
  }
}

/** Starts clamd with a custom database; always `stop()` it (afterAll). */
export async function startClamd(opts: ClamdServerOptions = {}): Promise<ClamdServer> {
  requireClamd();
  const db = opts.database ?? DEFAULT_TEST_DATABASE;
  if ((db.hashes?.length ?? 0) + (db.bodies?.length ?? 0) === 0) throw new Error('clamd refuses to start without signatures: give the test database at least one');
  const streamMaxLength = opts.streamMaxLength ?? 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-clamd-'));
  const dbDir = join(dir, 'db');
  const tmp = join(dir, 'tmp');
  mkdirSync(dbDir);
  mkdirSync(tmp);
  if (db.hashes?.length) writeFileSync(join(dbDir, 'test.hdb'), db.hashes.map((h) => `${h.md5}:${h.size}:${h.name}\n`).join(''));
  if (db.bodies?.length) writeFileSync(join(dbDir, 'test.ndb'), db.bodies.map((b) => `${b.name}:0:*:${b.hex}\n`).join(''));
  const port = await freeTcpPort();
  const host = '127.0.0.1';
  const socketPath = join(dir, 'clamd.sock');
  const logFile = join(dir, 'clamd.log');
  const conf = join(dir, 'clamd.conf');
  writeFileSync(
    conf,
    [
      'Foreground yes',
      `LogFile ${logFile}`,
      'LogTime yes',
      `DatabaseDirectory ${dbDir}`,
      `TemporaryDirectory ${tmp}`,
      `TCPAddr ${host}`,
      `TCPSocket ${port}`,
      `LocalSocket ${socketPath}`,
      `StreamMaxLength ${streamMaxLength}`,
      'MaxThreads 4',
      // Never reload the database behind a test's back.
      'SelfCheck 0',
      '',
    ].join('\n'),
  );
  const t0 = Date.now();
  const proc = spawnGroup(CLAMD_BINARY, ['-c', conf], { cwd: dir, cleanup: dir });
  const child = proc.child;
  const output = (): string => {
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8');
    } catch {
      // no log yet
    }
    return `${proc.output()}${log}`;
  };
  const stop = proc.stop;
  const client = createClamdClient({ host, port, timeoutMs: 1000 });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`clamd exited (${child.exitCode ?? child.signalCode}) before answering PING:\n${output()}`);
      try {
        await client.ping();
        break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`clamd did not answer PING on ${host}:${port} within ${opts.startTimeoutMs ?? 30_000} ms:\n${output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, port, socketPath, streamMaxLength, startupMs: Date.now() - t0, output, stop };
}
