import { LimitExceededError, ManifestError, UnsupportedMediaTypeError, InvalidReferenceError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS, resolveLimits } from '../../../lib/engine/limits';
import { type Digest, MediaType, sha256Digest } from '../../../lib/engine/model';
import { isAttestation, manifestKind, parseImageConfig, parseImageIndex, parseImageManifest } from '../../../lib/engine/registry/manifest';
import type { ManifestBytes } from '../../../lib/engine/registry/source';
import { corpusBytes } from '../../helpers/corpus';

function doc(bytes: Buffer, mediaType = ''): ManifestBytes {
  return { mediaType, digest: sha256Digest(bytes), bytes };
}

describe('manifest parsing on the corpus (real spec examples)', () => {
  it.each([
    ['OCI index example', ['oci', 'image-spec__image-index__1.json'], 'index'],
    ['OCI index with multiple media types', ['oci', 'image-spec__image-index__2.json'], 'index'],
    ['OCI layout index example', ['oci', 'image-spec__image-layout__2.json'], 'index'],
    ['Docker manifest list', ['docker', 'distribution__manifest-list-v2-2.example.json'], 'index'],
    ['OCI manifest example', ['oci', 'image-spec__manifest__1.json'], 'manifest'],
    ['Docker v2.2 manifest', ['docker', 'distribution__image-manifest-v2-2.example.json'], 'manifest'],
  ])('%s', (_name, path, kind) => {
    const m = doc(corpusBytes('events', ...path));
    const parsed = JSON.parse(m.bytes.toString()) as Record<string, unknown>;
    expect(manifestKind(m, parsed)).toBe(kind);
    if (kind === 'index') {
      const idx = parseImageIndex(m, DEFAULT_LIMITS);
      expect(idx.manifests.length).toBe((parsed.manifests as unknown[]).length);
    } else {
      const man = parseImageManifest(m, DEFAULT_LIMITS);
      expect(man.layers.length).toBe((parsed.layers as unknown[]).length);
      expect(man.config.digest).toMatch(/^sha256:/);
    }
  });

  it('parses the OCI config example and the Docker config example', () => {
    const oci = parseImageConfig(corpusBytes('events', 'oci', 'image-spec__config__1.json'), 'oci config');
    expect(oci.config?.User).toBe('alice');
    expect(oci.rootfs.diff_ids.length).toBeGreaterThan(0);
    const docker = parseImageConfig(corpusBytes('events', 'docker', 'docker-image-spec__image-config.example.json'), 'docker config');
    expect(docker.os).toBe('linux');
  });

  it('a manifest whose own mediaType contradicts the transport is refused', () => {
    const m = doc(corpusBytes('events', 'oci', 'image-spec__manifest__1.json'), MediaType.DockerManifest);
    expect(() => parseImageManifest(m, DEFAULT_LIMITS)).toThrow(ManifestError);
  });
});

describe('manifest validation (RELIABILITY.md 21, 23)', () => {
  const good = { mediaType: MediaType.OciLayerGzip, digest: sha256Digest('x'), size: 1 };
  const manifest = (layers: unknown[]) =>
    doc(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { ...good, mediaType: MediaType.OciConfig }, layers })));

  it.each([
    ['digest with path traversal', [{ ...good, digest: 'sha256:../../../etc/passwd' }], InvalidReferenceError],
    ['negative size', [{ ...good, size: -1 }], ManifestError],
    ['fractional size', [{ ...good, size: 1.5 }], ManifestError],
    ['media type with spaces', [{ ...good, mediaType: 'a b' }], ManifestError],
    ['layer not an object', ['sha256:x'], ManifestError],
  ])('%s is refused', (_n, layers, cls) => {
    expect(() => parseImageManifest(manifest(layers), DEFAULT_LIMITS)).toThrow(cls);
  });

  it('500+ layers stop at maxLayers (case 21)', () => {
    expect(() => parseImageManifest(manifest(Array(600).fill(good)), DEFAULT_LIMITS)).toThrow(LimitExceededError);
  });

  it('an index of 1,000 manifests stops at maxIndexManifests (case 21)', () => {
    const idx = doc(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: Array(1000).fill({ ...good, mediaType: MediaType.OciManifest }) })));
    expect(() => parseImageIndex(idx, DEFAULT_LIMITS)).toThrow(LimitExceededError);
    expect(() => parseImageIndex(idx, resolveLimits({ maxIndexManifests: 1000 }))).not.toThrow();
  });

  it('schema version 1 manifests are refused', () => {
    expect(() => parseImageManifest(doc(Buffer.from('{"schemaVersion":1,"layers":[]}')), DEFAULT_LIMITS)).toThrow(ManifestError);
  });

  it('an unknown manifest media type is unsupported, not guessed', () => {
    const m = doc(Buffer.from('{"schemaVersion":2}'), 'application/vnd.example.thing+json');
    expect(() => parseImageManifest(m, DEFAULT_LIMITS)).toThrow(UnsupportedMediaTypeError);
  });

  const attestationLabel = { 'vnd.docker.reference.type': 'attestation-manifest' };
  it.each([
    { name: 'BuildKit attestation (label, platform unknown/unknown)', platform: { os: 'unknown', architecture: 'unknown' }, annotations: attestationLabel, skipped: true },
    { name: 'platform unknown/unknown without the label', platform: { os: 'unknown', architecture: 'unknown' }, skipped: true },
    // RELIABILITY.md 59: skopeo and containerd select by platform; the label does not stop a node pulling it.
    { name: 'labelled attestation with a real platform', platform: { os: 'linux', architecture: 'amd64' }, annotations: attestationLabel, skipped: false },
    { name: 'labelled attestation without a platform', annotations: attestationLabel, skipped: false },
    { name: 'a plain platform image', platform: { os: 'linux', architecture: 'amd64' }, skipped: false },
  ])('isAttestation: $name → $skipped', ({ platform, annotations, skipped }) => {
    const d = { ...good, digest: good.digest as Digest, ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}) };
    expect(isAttestation(d)).toBe(skipped);
  });
});
