import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { type BuiltImage, type HostFileSpec, buildImage, buildIndex } from './image-builder';
import { writeOciArchive } from './writers';

/**
 * The README quick start's sample image, built from real files on this machine: a two-platform OCI
 * index (linux/amd64, linux/arm64) whose images have a gzip layer with the OS identity and the dpkg
 * database (what an OS cataloger reads) and a zstd layer with a program and an app script. Files that
 * do not exist here are left out, so it builds on any Debian-like machine.
 */
export function sampleHostFiles(): { base: HostFileSpec[]; app: HostFileSpec[] } {
  const pick = (paths: string[]): HostFileSpec[] => paths.filter((p) => existsSync(p)).map((p) => ({ hostPath: p, imagePath: p }));
  return {
    // /etc/os-release is a symlink to ../usr/lib/os-release on Debian: both go in, the link stays a link.
    base: pick(['/etc/os-release', '/usr/lib/os-release', '/etc/debian_version', '/var/lib/dpkg/status', '/usr/share/doc/gzip/copyright', '/usr/share/doc/zstd/copyright']),
    app: pick(['/usr/bin/docker-registry']),
  };
}

/** Builds the sample index (deterministic: the same machine gives the same digests). */
export function buildSampleImage(extraApp: readonly HostFileSpec[] = []): BuiltImage {
  const { base, app: hostApp } = sampleHostFiles();
  const app = [...hostApp, ...extraApp];
  const script = '#!/bin/sh\nexec /usr/bin/docker-registry serve /etc/docker/registry/config.yml\n';
  const images = (['amd64', 'arm64'] as const).map((architecture) =>
    buildImage({
      platform: { os: 'linux', architecture },
      layers: [
        { fromHost: base, compression: 'gzip', createdBy: 'COPY os files' },
        { fromHost: app, entries: [{ path: 'app/', type: 'dir' }, { path: 'app/run.sh', body: script, mode: 0o755 }], compression: 'zstd', createdBy: 'COPY app' },
      ],
      config: { User: 'nobody', Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/app/run.sh'], WorkingDir: '/app' },
    }),
  );
  return buildIndex(images);
}

/**
 * Writes the sample as an OCI archive tagged `sample` (`.trustctl/sample.oci.tar` in the README);
 * `extraApp` files go into the app layer (the quick start adds real lock files from ../shared/corpus).
 */
/**
 * The application files the quick start adds to the sample (`npm run quickstart`): real lock files with
 * real, old versions from `<shared>/corpus/pkgdb` (their sources: each fixture's expected.json), so the
 * shipped feeds have something to find in the app layer too.
 */
export function quickstartAppFiles(shared: string): HostFileSpec[] {
  return [
    { hostPath: join(shared, 'corpus', 'pkgdb', 'npm', 'trivy-nodejs-yarn-yarn_happy', 'yarn_happy.lock'), imagePath: '/app/yarn.lock' },
    { hostPath: join(shared, 'corpus', 'pkgdb', 'pypi', 'trivy-python-pipenv-Pipfile_django', 'Pipfile_django.lock'), imagePath: '/app/Pipfile.lock' },
  ];
}

export async function writeSampleArchive(file: string, extraApp: readonly HostFileSpec[] = []): Promise<BuiltImage> {
  const image = buildSampleImage(extraApp);
  await writeOciArchive(file, image, { tag: 'sample' });
  return image;
}
