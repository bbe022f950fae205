import { boundedLines, checkTextSize } from '../bounds';
import type { RpmHeader } from './header';

/**
 * CBL-Mariner / Azure Linux distroless rpm manifest (`/var/lib/rpmmanifest/container-manifest-2`):
 * one package per line, tab-separated NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME, VENDOR, EPOCH,
 * SIZE, ARCH, EPOCHNUM, SOURCERPM (as anchore/syft's parse_rpm_manifest reads it). Bad lines are
 * returned as errors with their line number; a text or line past `PARSE_BOUNDS` throws a `LimitExceededError`.
 */
export function parseRpmManifest(text: string): { headers: RpmHeader[]; errors: string[] } {
  const headers: RpmHeader[] = [];
  const errors: string[] = [];
  checkTextSize(text.length, 'rpm manifest');
  for (const [raw, no] of boundedLines(text, 'rpm manifest', 'lf')) {
    const i = no - 1;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const f = line.split('\t');
    if (f.length !== 10) { errors.push(`line ${i + 1}: ${f.length} fields, expected 10`); continue; }
    const [name, vr, , , vendor, epochField, size, arch, , sourceRpm] = f as [string, string, string, string, string, string, string, string, string, string];
    const dash = vr.lastIndexOf('-');
    if (!name || dash <= 0 || dash === vr.length - 1) { errors.push(`line ${i + 1}: bad name or VERSION-RELEASE ${JSON.stringify(vr)}`); continue; }
    let epoch: number | undefined;
    if (epochField !== '(none)' && epochField !== '') {
      if (!/^\d{1,9}$/.test(epochField)) { errors.push(`line ${i + 1}: bad epoch ${JSON.stringify(epochField)}`); continue; }
      epoch = Number(epochField);
    }
    headers.push({
      name, version: vr.slice(0, dash), release: vr.slice(dash + 1), epoch,
      arch: arch || undefined,
      sourceRpm: sourceRpm && sourceRpm !== '(none)' ? sourceRpm : undefined,
      size: /^\d+$/.test(size) ? Number(size) : undefined,
      vendor: vendor && vendor !== '(none)' ? vendor : undefined,
    });
  }
  return { headers, errors };
}
