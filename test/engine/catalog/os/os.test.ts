import { readFileSync } from 'node:fs';
import { detectOs, distroRelease, osWants, parseOsRelease, type OsInfo } from '../../../../lib/engine/catalog/os';

/** A fake root filesystem: path → text. */
function fs(files: Record<string, string>): (path: string) => Buffer | undefined {
  return (path) => (path in files ? Buffer.from(files[path]) : undefined);
}

// Real release files, as shipped in the official images (debian:12, alpine:3.19, ubuntu:22.04,
// ubuntu:23.10, ubi9 9.3, centos:7, a distroless image with only /usr/lib/os-release).
const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`;
const ALPINE_319 = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`;
const UBUNTU_2204 = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
`;
const UBUNTU_2310 = `PRETTY_NAME="Ubuntu 23.10"
NAME="Ubuntu"
VERSION_ID="23.10"
VERSION="23.10 (Mantic Minotaur)"
VERSION_CODENAME=mantic
ID=ubuntu
ID_LIKE=debian
`;
const RHEL_93 = `NAME="Red Hat Enterprise Linux"
VERSION="9.3 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"
ANSI_COLOR="0;31"
`;

const CASES: Array<[string, Record<string, string>, OsInfo, string | undefined]> = [
  ['debian 12 os-release', { '/etc/os-release': DEBIAN_12, '/etc/debian_version': '12.5\n' },
    { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)', source: '/etc/os-release' }, 'Debian:12'],
  ['alpine 3.19 os-release', { '/etc/os-release': ALPINE_319, '/etc/alpine-release': '3.19.1\n' },
    { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19', source: '/etc/os-release' }, 'Alpine:v3.19'],
  ['ubuntu 22.04 LTS', { '/etc/os-release': UBUNTU_2204 },
    { id: 'ubuntu', versionId: '22.04', versionCodename: 'jammy', prettyName: 'Ubuntu 22.04.4 LTS', source: '/etc/os-release' }, 'Ubuntu:22.04:LTS'],
  ['ubuntu 23.10 interim', { '/etc/os-release': UBUNTU_2310 },
    { id: 'ubuntu', versionId: '23.10', versionCodename: 'mantic', prettyName: 'Ubuntu 23.10', source: '/etc/os-release' }, 'Ubuntu:23.10'],
  ['rhel 9.3 (ubi9)', { '/etc/os-release': RHEL_93, '/etc/redhat-release': 'Red Hat Enterprise Linux release 9.3 (Plow)\n' },
    { id: 'rhel', versionId: '9.3', prettyName: 'Red Hat Enterprise Linux 9.3 (Plow)', source: '/etc/os-release' }, undefined],
  ['distroless: only /usr/lib/os-release', { '/usr/lib/os-release': DEBIAN_12 },
    { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)', source: '/usr/lib/os-release' }, 'Debian:12'],
  ['alpine-release only', { '/etc/alpine-release': '3.19.1\n' },
    { id: 'alpine', versionId: '3.19.1', source: '/etc/alpine-release' }, 'Alpine:v3.19'],
  ['redhat-release only', { '/etc/redhat-release': 'Red Hat Enterprise Linux release 9.3 (Plow)\n' },
    { id: 'rhel', versionId: '9.3', versionCodename: 'Plow', prettyName: 'Red Hat Enterprise Linux release 9.3 (Plow)', source: '/etc/redhat-release' }, undefined],
  ['centos-release only', { '/etc/redhat-release': 'CentOS Linux release 7.9.2009 (Core)\n' },
    { id: 'centos', versionId: '7.9.2009', versionCodename: 'Core', prettyName: 'CentOS Linux release 7.9.2009 (Core)', source: '/etc/redhat-release' }, undefined],
  ['rocky-release only', { '/etc/redhat-release': 'Rocky Linux release 9.3 (Blue Onyx)\n' },
    { id: 'rocky', versionId: '9.3', versionCodename: 'Blue Onyx', prettyName: 'Rocky Linux release 9.3 (Blue Onyx)', source: '/etc/redhat-release' }, 'Rocky Linux:9'],
  ['debian_version only', { '/etc/debian_version': '12.11\n' },
    { id: 'debian', versionId: '12.11', source: '/etc/debian_version' }, 'Debian:12'],
  ['debian testing debian_version', { '/etc/debian_version': 'trixie/sid\n' },
    { id: 'debian', versionId: '', versionCodename: 'trixie', source: '/etc/debian_version' }, undefined],
];

describe('detectOs', () => {
  it.each(CASES)('%s', (_name, files, want, release) => {
    const got = detectOs(fs(files));
    expect(got).toEqual(want);
    expect(distroRelease(got!)).toBe(release);
  });

  it('returns undefined for an image without release files, and for garbage', () => {
    expect(detectOs(fs({}))).toBeUndefined();
    expect(detectOs(fs({ '/etc/os-release': '\u0000\u0001garbage without equals\n' }))).toBeUndefined();
    expect(detectOs(fs({ '/etc/redhat-release': 'not a release line' }))).toBeUndefined();
  });

  it('prefers /etc/os-release over /usr/lib/os-release (os-release(5))', () => {
    expect(detectOs(fs({ '/etc/os-release': ALPINE_319, '/usr/lib/os-release': DEBIAN_12 }))?.id).toBe('alpine');
  });

  const REAL = '/etc/os-release';
  it('reads this machine\'s /etc/os-release', () => {
    const text = readFileSync(REAL, 'utf8');
    const kv = new Map(text.split('\n').map((l) => /^(ID|VERSION_ID)=(.*)$/.exec(l)).filter((m) => m).map((m) => [m![1], m![2].replace(/^"|"$/g, '')]));
    const got = detectOs((p) => (p === REAL ? readFileSync(p) : undefined));
    expect(got).toMatchObject({ id: kv.get('ID'), versionId: kv.get('VERSION_ID') ?? '', source: REAL });
  });
});

describe('parseOsRelease quoting (os-release(5), shell rules)', () => {
  it.each([
    ['ID=debian', 'debian'],
    ['ID="debian"', 'debian'],
    ["ID='debian'", 'debian'],
    ['PRETTY_NAME="say \\"hi\\" \\$x \\\\ \\`y\\`"', 'say "hi" $x \\ `y`'],
    ["NAME='single \\ kept'", 'single \\ kept'],
    ['NAME=unquoted\\ space', 'unquoted space'],
    ['NAME="a" # comment', 'a'],
  ])('%s', (line, value) => {
    const key = line.slice(0, line.indexOf('='));
    expect(parseOsRelease(`# comment\n\n${line}\n`).get(key)).toBe(value);
  });
});

describe('distroRelease', () => {
  it.each([
    ['ubuntu', '24.04', 'Ubuntu:24.04:LTS'],
    ['ubuntu', '20.04', 'Ubuntu:20.04:LTS'],
    ['ubuntu', '21.04', 'Ubuntu:21.04'],
    ['ubuntu', '24.10', 'Ubuntu:24.10'],
    ['debian', '11', 'Debian:11'],
    ['alpine', '3.20.0', 'Alpine:v3.20'],
    ['alpine', 'edge', undefined],
    ['arch', '', undefined],
  ])('%s %s → %s', (id, versionId, want) => {
    expect(distroRelease({ id, versionId })).toBe(want);
  });
});

describe('osWants', () => {
  it('wants exactly the release files', () => {
    for (const p of ['/etc/os-release', '/usr/lib/os-release', '/etc/alpine-release', '/etc/debian_version', '/etc/redhat-release']) expect(osWants(p)).toBe(true);
    expect(osWants('/etc/passwd')).toBe(false);
    expect(osWants('etc/os-release')).toBe(false);
  });
});
