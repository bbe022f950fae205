/**
 * artifactManifestReason (lib/engine/pipeline/scan.ts): which manifests named alone are attestations or
 * signatures, never scanned — and which are images whatever they look like (RELIABILITY.md 59).
 */
import { artifactManifestReason } from '../../../lib/engine/pipeline/scan';

const layer = (mediaType: string) => ({ mediaType, digest: `sha256:${'a'.repeat(64)}`, size: 10 });
const manifest = (layers: unknown, extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 2 }, layers, ...extra,
}));

describe('artifactManifestReason', () => {
  it.each([
    ['a BuildKit attestation manifest (in-toto layers)', manifest([layer('application/vnd.in-toto+json'), layer('application/vnd.in-toto+json')]), /in-toto/],
    ['a cosign signature', manifest([layer('application/vnd.dev.cosign.simplesigning.v1+json')]), /cosign/],
    ['a cosign attestation (DSSE envelope)', manifest([layer('application/vnd.dsse.envelope.v1+json')]), /dsse/],
    ['an SBOM artifact', manifest([layer('application/spdx+json')], { artifactType: 'application/spdx+json' }), /spdx/],
  ])('%s is an artifact', (_n, bytes, reason) => {
    expect(artifactManifestReason(bytes)).toMatch(reason);
  });

  it.each([
    ['an image (gzip layer)', manifest([layer('application/vnd.oci.image.layer.v1.tar+gzip')])],
    ['an in-toto layer beside a filesystem layer (runnable: judged)', manifest([layer('application/vnd.in-toto+json'), layer('application/vnd.oci.image.layer.v1.tar')])],
    ['an attestation annotation on an image (annotations decide nothing)', manifest([layer('application/vnd.docker.image.rootfs.diff.tar.gzip')], { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } })],
    ['no layers', manifest([])],
    ['an index', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }))],
    ['a layer without a media type', manifest([{ digest: `sha256:${'a'.repeat(64)}`, size: 1 }])],
    ['not JSON (the scan reports it)', Buffer.from('not json')],
    ['JSON null', Buffer.from('null')],
  ])('%s is scanned', (_n, bytes) => {
    expect(artifactManifestReason(bytes)).toBeUndefined();
  });
});
