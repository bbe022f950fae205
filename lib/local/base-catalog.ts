import { readFile } from 'node:fs/promises';
import type { BaseImageCatalog, BaseImageRecord } from '../engine/checks/base-image/catalog';
import { patternMatches, parseTrustedBases, type TrustedBasesConfig } from '../engine/checks/base-image/trusted-bases';
import type { Limits } from '../engine/limits';
import { parseImageRef, type Digest } from '../engine/model';
import { RegistryClient } from '../engine/registry/client';
import { RegistrySource } from '../engine/registry/registry-source';
import { resolveImage } from '../engine/registry/resolve';
import type { CredentialProvider } from '../engine/registry/source';

/** How many tags of one repository a pattern entry resolves at most (a `*` over a busy repository). */
const MAX_TAGS_PER_PATTERN = 200;

/**
 * A {@link BaseImageCatalog} resolved from a trusted-bases file against the registries it names: a
 * digest entry becomes one record per platform image of that digest (its config's diff_ids and
 * created); a pattern entry lists the repository's tags (`RegistryClient.listTags`), keeps those the
 * pattern matches and resolves each. Resolution happens once, on first use; an entry that cannot be
 * resolved is reported in `problems` (the check then cannot call an image "trusted" through it —
 * never trusted on error).
 */
export class RegistryBaseImageCatalog implements BaseImageCatalog {
  private resolved?: Promise<BaseImageRecord[]>;
  readonly problems: string[] = [];

  constructor(
    private readonly config: TrustedBasesConfig,
    private readonly opts: { limits: Limits; credentials: CredentialProvider; insecureRegistries?: readonly string[] },
  ) {}

  /** Reads and parses a trusted-bases file. */
  static async fromFile(file: string, opts: { limits: Limits; credentials: CredentialProvider }): Promise<RegistryBaseImageCatalog> {
    return new RegistryBaseImageCatalog(parseTrustedBases(await readFile(file, 'utf8'), file), opts);
  }

  entries(): Promise<readonly BaseImageRecord[]> {
    this.resolved ??= this.resolveAll();
    return this.resolved;
  }

  private async resolveRef(ref: string, trusted: boolean, pattern?: string): Promise<BaseImageRecord[]> {
    const parsed = parseImageRef(ref);
    const client = new RegistryClient({ registry: parsed.registry, limits: this.opts.limits, credentials: this.opts.credentials });
    const source = new RegistrySource(client, parsed);
    const target = await resolveImage(source, { limits: this.opts.limits });
    return target.images.map((img) => ({
      ref,
      digest: img.manifestDigest,
      diffIds: img.config.rootfs.diff_ids,
      ...(img.config.created ? { created: img.config.created } : {}),
      trusted,
      ...(pattern ? { pattern } : {}),
    }));
  }

  private async resolveAll(): Promise<BaseImageRecord[]> {
    const out: BaseImageRecord[] = [];
    for (const e of this.config.bases) {
      try {
        if (e.kind === 'digests') {
          for (const d of e.digests) out.push(...(await this.resolveRef(`${e.registry}/${e.repository}${e.tag ? `:${e.tag}` : ''}@${d as Digest}`, e.trusted)));
        } else {
          if (e.repository.includes('*')) {
            this.problems.push(`entry ${e.entry} (line ${e.line}): ${e.pattern}: repository wildcards cannot be listed through the registry API (no catalog access); name repositories`);
            continue;
          }
          const client = new RegistryClient({ registry: e.registry, limits: this.opts.limits, credentials: this.opts.credentials });
          const tags = (await client.listTags(e.repository)).filter((t) => patternMatches(e, parseImageRef(`${e.registry}/${e.repository}:${t}`))).slice(0, MAX_TAGS_PER_PATTERN);
          for (const t of tags) out.push(...(await this.resolveRef(`${e.registry}/${e.repository}:${t}`, e.trusted, e.pattern)));
        }
      } catch (err) {
        this.problems.push(`entry ${e.entry} (line ${e.line}): ${(err as Error).message}`);
      }
    }
    return out;
  }
}
