/**
 * Jest `setupFilesAfterEnv` entry: every test file gets its own data and cache directories, so a CLI
 * run in-process (`scan` records verdicts, `feeds sync` writes advisories) never touches the
 * developer's ~/.local/share/trustctl or ~/.cache/trustctl — tests write only to temporary folders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'trustctl-test-env-'));
process.env.TRUSTCTL_DATA_DIR = join(root, 'data');
process.env.TRUSTCTL_CACHE_DIR = join(root, 'cache');
afterAll(() => rmSync(root, { recursive: true, force: true }));
