/**
 * The README's first command (after `npm ci`): builds the sample image from real files on this
 * machine, syncs the shipped OSV exports (../shared/feeds/osv), the NVD records of ../shared/corpus/nvd and
 * the CISA KEV catalog (../shared/feeds/kev) into the embedded advisory store, and
 * scans the sample with the embedded defaults — recording its verdict — then asks the deploy gate
 * (`trustctl verify`) about the digest, which must give the same verdict and exit code. Kept to a few lines on purpose — everything it does is
 * the product's own code, as a user would run it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { main } from '../lib/cli/main';
import { quickstartAppFiles, writeSampleArchive } from '../lib/local/builder/sample';

async function trustctl(...args: string[]): Promise<number> {
  process.stdout.write(`\n$ trustctl ${args.join(' ')}\n`);
  return main(['node', 'trustctl', ...args]);
}

async function quickstart(): Promise<number> {
  const dir = join(process.cwd(), '.trustctl');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'sample.oci.tar');
  const shared = join(process.cwd(), '..', 'shared');
  const image = await writeSampleArchive(file, quickstartAppFiles(shared));
  const target = `oci-archive:${relative(process.cwd(), file)}`;
  const data = relative(process.cwd(), join(dir, 'advisories'));
  process.stdout.write(`Built the sample image ${image.root.digest}\n  -> ${target}\n`);
  const feeds = relative(process.cwd(), join(shared, 'feeds', 'osv'));
  if (!existsSync(feeds)) throw new Error(`the shipped OSV exports are not at ${feeds}`);
  // Beside the OSV exports: real NVD CVE records (severities for CVEs the OSV records leave unrated)
  // and CISA's known-exploited catalog, each told apart by content.
  const nvd = relative(process.cwd(), join(shared, 'corpus', 'nvd'));
  const kev = relative(process.cwd(), join(shared, 'feeds', 'kev'));
  const synced = await trustctl('feeds', 'sync', '--feed', feeds, '--feed', nvd, '--feed', kev, '--data-dir', data);
  if (synced !== 0) return synced;
  const verdicts = relative(process.cwd(), join(dir, 'verdicts'));
  const code = await trustctl('scan', target, '--data-dir', data, '--verdict-dir', verdicts);
  // 0 trusted, 1 quarantined: either is the scan doing its job; only 2 (could not scan) is a failure here.
  if (code !== 0 && code !== 1) return code;
  const gate = await trustctl('verify', image.root.digest, '--verdict-dir', verdicts);
  const word = (c: number) => (c === 0 ? 'trusted' : c === 1 ? 'quarantined' : `error ${c}`);
  process.stdout.write(`\nscan exit ${code} (${word(code)}), verify exit ${gate} (${word(gate)}): ${gate === code ? 'the deploy gate agrees with the scan' : 'MISMATCH'}\n`);
  return gate === code ? 0 : 2;
}

quickstart().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`quickstart failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  },
);
