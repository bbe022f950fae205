import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { buildImage, buildIndex, type BuiltImage } from '../../../../lib/local/builder/image-builder';
import { sha256Digest } from '../../../../lib/engine/model';
import type { PushableImage } from '../../../../lib/local/builder/push';
import { corpusPath } from '../../../helpers/corpus';

/** The ECR registry the events name; tests serve it from a local registry (TRUSTCTL_REGISTRY_OVERRIDE). */
export const ACCOUNT = '123456789012';
export const REGION = 'us-west-2';
export const ECR_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
export const REPO = 'team/app';

/** A Cargo.lock naming these crates (the cargo cataloger reads it from any layer). */
export function cargoLock(crates: readonly (readonly [string, string])[]): string {
  return `version = 3\n\n${crates.map(([n, v]) => `[[package]]\nname = "${n}"\nversion = "${v}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`).join('\n')}`;
}

/** A single-platform image whose only app file is a Cargo.lock with `crates`, running as a non-root user. */
export function crateImage(crates: readonly (readonly [string, string])[], arch = 'amd64', extra = ''): BuiltImage {
  return buildImage({
    platform: { os: 'linux', architecture: arch },
    config: { User: '1000', Cmd: ['/app/bin'] },
    layers: [
      { entries: [{ path: 'etc/motd', body: `trustctl pipeline test image ${extra}\n` }] },
      { entries: [{ path: 'app/Cargo.lock', body: cargoLock(crates) }] },
    ],
  });
}

/**
 * The images of the pipeline tests:
 * - `regex`: regex 1.5.4 (RUSTSEC-2022-0013, high, fixed in 1.5.5) and serde;
 * - `smallvec`: smallvec 0.6.10 (RUSTSEC-2021-0003, critical, fixed in 0.6.14) and serde;
 * - `index`: linux/amd64 with regex, linux/arm64 with serde only;
 * - `unpushed`: pushed to the registry but never announced by an event (the nightly sweep finds it).
 */
export function testImages() {
  const regex = crateImage([['regex', '1.5.4'], ['serde', '1.0.197']], 'amd64', 'regex');
  const smallvec = crateImage([['serde', '1.0.197'], ['smallvec', '0.6.10']], 'amd64', 'smallvec');
  const amd = crateImage([['regex', '1.5.4']], 'amd64', 'index');
  const arm = crateImage([['serde', '1.0.197']], 'arm64', 'index');
  const index = buildIndex([amd, arm]);
  const unpushed = crateImage([['tokio', '1.40.0']], 'amd64', 'unannounced');
  return { regex, smallvec, amd, arm, index, unpushed };
}

/** Raw JSON of a corpus OSV record (`crates.io/RUSTSEC-2022-0013.json`). */
export function corpusOsv(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(corpusPath('osv', ...file.split('/')), 'utf8')) as Record<string, unknown>;
}

/** Records that affect none of the test images' crates (openssl, tokio < 1.5.1, h2, hyper). */
export const BASE_RECORDS = ['crates.io/RUSTSEC-2016-0001.json', 'crates.io/RUSTSEC-2021-0072.json', 'crates.io/RUSTSEC-2026-0258.json', 'crates.io/RUSTSEC-2021-0079.json'];

/**
 * A corpus record as a feed publishes it when it is added or revised: the same content with a newer
 * `modified` (incremental syncs read only records modified after the newest one already taken).
 */
export function revised(file: string, modified: string): Record<string, unknown> {
  return { ...corpusOsv(file), modified };
}

/** Writes `<dir>/crates.io/all.zip` (an OSV export: one `<id>.json` per record, deflated) and returns its path. */
export function writeCratesFeed(dir: string, records: readonly Record<string, unknown>[]): string {
  const folder = join(dir, 'crates.io');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'all.zip');
  writeFileSync(file, zipSync(Object.fromEntries(records.map((r) => [`${String(r.id)}.json`, strToU8(JSON.stringify(r))]))));
  return file;
}

/** The real ECR push event (AWS docs sample) naming `digest` in `repository`, pushed at `time`. */
export function pushEvent(digest: string, repository = REPO, tag = 'latest', time = new Date().toISOString().replace(/\.\d+Z$/, 'Z')): Record<string, unknown> {
  const e = JSON.parse(readFileSync(corpusPath('events', 'aws', 'awsdocs-ecr__ecr-image-action-push.json'), 'utf8')) as Record<string, unknown> & { detail: Record<string, unknown> };
  return { ...e, account: ACCOUNT, region: REGION, time, detail: { ...e.detail, 'repository-name': repository, 'image-digest': digest, 'image-tag': tag } };
}

/**
 * AWS's "ECR Pull Through Cache Action" / "ECR Replication Action" sample (test/fixtures/ecr-events/)
 * naming `digest`, in the test account and region, at `time`.
 */
export function arrivalEvent(kind: 'pull-through-cache' | 'replication', digest: string, time = new Date().toISOString().replace(/\.\d+Z$/, 'Z')): Record<string, unknown> {
  const file = kind === 'pull-through-cache' ? 'ecr-pull-through-cache-action.json' : 'ecr-replication-action.json';
  const e = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'ecr-events', file), 'utf8')) as Record<string, unknown> & { detail: Record<string, unknown> };
  return { ...e, account: ACCOUNT, region: REGION, time, detail: { ...e.detail, 'image-digest': digest } };
}

/**
 * A BuildKit-style attestation manifest as pushed on its own: an OCI image manifest whose config says
 * `unknown/unknown` and whose one layer is an in-toto statement (docker/buildx "Attestation storage").
 */
export function attestationManifest(subject: string): PushableImage {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://spdx.dev/Document', subject: [{ name: 'pkg:docker/team/app', digest: { sha256: subject.replace(/^sha256:/, '') } }], predicate: {} }));
  const layerDigest = sha256Digest(statement);
  const config = Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.in-toto+json', digest: layerDigest, size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' } }],
  }));
  return { blobs: new Map([[sha256Digest(config), config], [layerDigest, statement]]), manifests: [], root: { digest: sha256Digest(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: manifest } };
}
