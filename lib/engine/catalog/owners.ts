/**
 * Language packages a distribution installed (issue 14, "Only what is installed is inventory"):
 * Debian's `python3-flask` installs `/usr/lib/python3/dist-packages/Flask-2.2.2.dist-info`, its
 * `node-*` packages the modules under `/usr/share/nodejs`, `libcommons-lang3-java` a jar in
 * `/usr/share/java`. Those files are the OS package's: the distribution patches them and its feed
 * judges them (Debian fixed flask's CVE-2023-30861 in 2.2.2-3, a version PyPI's advisory calls
 * affected). Such a language package stays in the inventory, with {@link Package.ownedBy} naming its
 * OS package, and is not matched against its ecosystem's advisories (matcher.ts `lookupKeys`).
 *
 * Trivy drops such packages outright (aquasecurity/trivy pkg/fanal/handler/sysfile/filter.go: "If the
 * lang-specific package was installed by OS package manager, it should not be taken. Otherwise, the
 * package version will be wrong, then it will lead to false positive" — for gemspecs, Python, conda,
 * Node.js packages and Go binaries). Here they stay in the inventory, and the rule is narrower, because
 * a wrong attribution hides findings:
 * - only the package database's own file lists, read from the image's final tree, count — dpkg's
 *   `/var/lib/dpkg/info/<name>[:<arch>].list`, distroless `status.d/<name>.md5sums`, apk's `F:`/`R:`
 *   lines in `/lib/apk/db/installed` — and only those of an OS package the inventory holds;
 * - the package's evidence file itself (its `METADATA`/`PKG-INFO`, `package.json`, `.gemspec`, jar) must
 *   be listed; a dist-info that merely sits in `dist-packages` is not owned;
 * - only in the directories the distribution's own language policies use (Debian Python Policy
 *   `/usr/lib/python3/dist-packages`, Debian JavaScript Policy `/usr/share/nodejs`, Ruby's
 *   `vendor_ruby`/`rubygems-integration`, Java Policy `/usr/share/java`, …): a third-party `.deb`
 *   that bundles its own `node_modules` under `/opt` (or NodeSource's `nodejs` under
 *   `/usr/lib/node_modules`) is not covered by the distribution's feed, so its packages stay matched
 *   against their ecosystem.
 * Go and Rust binaries are never attributed: a distribution rebuilds them, but its feed does not
 * judge the modules and standard library each one links.
 */
import type { Package } from '../model';

/** The OS package that installed a language package's files. */
export interface PackageOwner {
  readonly purl: string;
  readonly name: string;
}

/** Where the package databases keep their file lists: bodies the layer record keeps for {@link attributeOwnedPackages}. */
export function ownerDbWants(path: string): boolean {
  return DPKG_LIST.test(path) || DISTROLESS_MD5SUMS.test(path) || path === APK_INSTALLED;
}

const DPKG_STATUS = '/var/lib/dpkg/status';
const DPKG_LIST = /^\/var\/lib\/dpkg\/info\/[^/]+\.list$/;
const DISTROLESS_MD5SUMS = /^\/var\/lib\/dpkg\/status\.d\/[^/]+\.md5sums$/;
const APK_INSTALLED = '/lib/apk/db/installed';

/** The files that identify an installed language package (what the catalogers locate packages at). */
const EVIDENCE = /\.dist-info\/METADATA$|\.egg-info\/PKG-INFO$|\.egg-info$|\/package\.json$|\.gemspec$|\.(?:jar|war|ear)$/i;

/** The distributions' own language-package directories, per package database (see the module comment). */
const DISTRO_DIRS = {
  dpkg: /^\/usr\/(?:lib\/python[23][.\d]*\/dist-packages|share\/nodejs|lib\/nodejs|lib\/[^/]+\/nodejs|lib\/ruby|share\/rubygems-integration|lib\/[^/]+\/rubygems-integration|share\/ruby-[^/]+|share\/java|share\/maven-repo|lib\/jvm)\//,
  apk: /^\/usr\/(?:lib\/python3[.\d]*\/site-packages|lib\/node_modules|lib\/ruby|share\/java|lib\/jvm)\//,
} as const;

/** One package database's file lists: evidence path → owner. */
type Owned = Map<string, PackageOwner>;

function own(owned: Owned, db: keyof typeof DISTRO_DIRS, path: string, owner: PackageOwner): void {
  if (!EVIDENCE.test(path) || !DISTRO_DIRS[db].test(path)) return;
  if (!owned.has(path)) owned.set(path, owner);
}

/** dpkg `info/<pkg>.list`: one absolute path per line (dpkg(1) "FILES"). */
function readDpkgList(text: string, db: Owned, owner: PackageOwner): void {
  for (const line of text.split('\n')) {
    const path = line.trimEnd();
    if (path.startsWith('/')) own(db, 'dpkg', path, owner);
  }
}

/** `md5sums`: `<md5>  <path relative to />` per line (dh_md5sums; distroless writes one per package). */
function readMd5sums(text: string, db: Owned, owner: PackageOwner): void {
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]{32} [ *]?(.+)$/.exec(line.trimEnd());
    if (m) own(db, 'dpkg', `/${m[1].replace(/^\.?\//, '')}`, owner);
  }
}

/** `/lib/apk/db/installed`: per record `P:` name, `V:` version, then `F:` folder and its `R:` files (apk-tools "installed database"). */
function readApkInstalled(text: string, owners: ReadonlyMap<string, PackageOwner>, db: Owned): void {
  let name = '';
  let version = '';
  let dir = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') { name = version = dir = ''; continue; }
    const k = line.slice(0, 2);
    const v = line.slice(2);
    if (k === 'P:') name = v;
    else if (k === 'V:') version = v;
    else if (k === 'F:') dir = v;
    else if (k === 'R:') {
      const owner = owners.get(`${name}\0${version}`);
      if (owner) own(db, 'apk', `/${dir ? `${dir}/` : ''}${v}`, owner);
    }
  }
}

/**
 * The language packages of an inventory completed with the OS package that installed them
 * ({@link Package.ownedBy}), from the package databases' file lists in the image's final tree (`readFile`
 * answers for the visible file only). Packages are returned in the same order; OS packages and
 * unowned packages unchanged. A package is owned when every one of its locations is an evidence file
 * one installed OS package lists, in a distribution language directory.
 */
export function attributeOwnedPackages(packages: readonly Package[], readFile: (path: string) => Buffer | undefined): Package[] {
  const owned: Owned = new Map();
  const apkOwners = new Map<string, PackageOwner>();
  for (const p of packages) {
    const owner: PackageOwner = { purl: p.purl, name: p.name };
    for (const l of p.locations) {
      if (p.cataloger.name === 'dpkg-db' && l.path === DPKG_STATUS) {
        for (const list of [`/var/lib/dpkg/info/${p.name}.list`, ...(p.arch ? [`/var/lib/dpkg/info/${p.name}:${p.arch}.list`] : [])]) {
          const body = readFile(list);
          if (body) readDpkgList(body.toString('utf8'), owned, owner);
        }
      } else if (p.cataloger.name === 'dpkg-db' && l.path.startsWith('/var/lib/dpkg/status.d/')) {
        const body = readFile(`${l.path}.md5sums`);
        if (body) readMd5sums(body.toString('utf8'), owned, owner);
      } else if (p.cataloger.name === 'apk-db' && l.path === APK_INSTALLED) {
        apkOwners.set(`${p.name}\0${p.version}`, owner);
      }
    }
  }
  if (apkOwners.size > 0) {
    const body = readFile(APK_INSTALLED);
    if (body) readApkInstalled(body.toString('utf8'), apkOwners, owned);
  }
  if (owned.size === 0) return [...packages];
  return packages.map((p) => {
    if (p.locations.length === 0 || p.ownedBy) return p;
    const owners = p.locations.map((l) => owned.get(l.path));
    const first = owners[0];
    if (!first || owners.some((o) => o?.purl !== first.purl)) return p;
    return { ...p, ownedBy: first };
  });
}
