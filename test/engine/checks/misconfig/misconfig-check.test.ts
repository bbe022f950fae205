import {
  DEFAULT_SETUID_ALLOW_LIST,
  MISCONFIG_CHECK_VERSION,
  MISCONFIG_RULES,
  type MisconfigCheckOptions,
  type MisconfigFinding,
  createMisconfigCheck,
} from '../../../../lib/engine/checks/misconfig';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { type ImageSpec, type LayerSpec, buildImage } from '../../../../lib/local/builder/image-builder';
import type { TarEntry } from '../../../../lib/local/builder/tar-writer';
import { runOnBuilt } from './harness';

/**
 * Every rule of MISCONFIG_RULES against images built by the repo's builder and read back with the
 * real layer reader: a table of named cases, at least one positive and one negative per rule (the
 * last test checks that). Each case looks only at the findings of its own rule, over an image that
 * is otherwise well configured.
 */

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0:second root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
/** What every case image has unless it says otherwise: a non-root user, a health check. */
const GOOD_CONFIG = { User: '1000', Healthcheck: { Test: ['CMD', '/app/health'] } };
const BASE_FILES: TarEntry[] = [
  { path: 'etc/', type: 'dir', mode: 0o755 },
  { path: 'etc/passwd', body: PASSWD, mode: 0o644 },
  { path: 'usr/', type: 'dir', mode: 0o755 },
  { path: 'usr/bin/', type: 'dir', mode: 0o755 },
  { path: 'usr/bin/passwd', body: 'ELF passwd', mode: 0o4755 },
  { path: 'usr/bin/su', body: 'ELF su', mode: 0o4755 },
  { path: 'tmp/', type: 'dir', mode: 0o1777 },
];

/** An image: the base files, then `layers`, with the good config overridden by `config`. */
function image(layers: (readonly TarEntry[] | LayerSpec)[], extra: Partial<ImageSpec> & { config?: Record<string, unknown> } = {}): ImageSpec {
  return {
    ...extra,
    layers: [{ entries: BASE_FILES, createdBy: 'ADD file:0123abcd in / ' }, ...layers.map((l) => (Array.isArray(l) ? { entries: l as readonly TarEntry[] } : (l as LayerSpec)))],
    config: { ...GOOD_CONFIG, ...(extra.config ?? {}) },
  };
}

/** A history-only image: one layer per RUN-like line, metadata lines as empty history. */
function history(run: readonly string[], empty: readonly string[] = []): ImageSpec {
  return image(run.map((createdBy, i) => ({ entries: [{ path: `app/step${i}`, body: `step ${i}` }], createdBy })), { emptyHistory: empty });
}

interface Expected {
  /** How many findings of the rule (default 1). */
  readonly count?: number;
  readonly path?: string;
  /** Index of the image layer the finding points at; `null`: no layer. */
  readonly layer?: number | null;
  readonly message?: RegExp;
  /** Strings the message must not contain (redaction). */
  readonly hides?: readonly string[];
}

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly spec: ImageSpec;
  readonly options?: MisconfigCheckOptions;
  /** `none`: no finding of the rule. */
  readonly expect: Expected | 'none';
}

const CASES: readonly Case[] = [
  // TC-MC-001 runs as root
  { name: 'no User runs as root', rule: 'TC-MC-001', spec: image([], { config: { User: undefined } }), expect: { path: 'config:User', layer: null, message: /config\.User is not set/ } },
  { name: 'User "" runs as root', rule: 'TC-MC-001', spec: image([], { config: { User: '' } }), expect: { path: 'config:User', message: /not set/ } },
  { name: 'User root', rule: 'TC-MC-001', spec: image([], { config: { User: 'root' } }), expect: { path: 'config:User', message: /"root" has uid 0 in \/etc\/passwd/ } },
  { name: 'User 0', rule: 'TC-MC-001', spec: image([], { config: { User: '0' } }), expect: { message: /"0" is uid 0/ } },
  { name: 'User 0:0', rule: 'TC-MC-001', spec: image([], { config: { User: '0:0' } }), expect: { message: /"0:0" is uid 0/ } },
  { name: 'User root with no /etc/passwd at all', rule: 'TC-MC-001', spec: { layers: [{ entries: [{ path: 'app/x', body: 'x' }] }], config: { User: 'root', Healthcheck: GOOD_CONFIG.Healthcheck } }, expect: { message: /"root" names root, so the container runs as root/ } },
  { name: 'a user name with uid 0 in /etc/passwd (toor)', rule: 'TC-MC-001', spec: image([], { config: { User: 'toor' } }), expect: { message: /"toor" has uid 0 in \/etc\/passwd/ } },
  { name: 'a name that an upper layer gives uid 0', rule: 'TC-MC-001', spec: image([[{ path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\napp:x:0:0::/home/app:/bin/sh\n' }]], { config: { User: 'app' } }), expect: { message: /"app" has uid 0/ } },
  { name: 'User 1000 (numeric, non-zero)', rule: 'TC-MC-001', spec: image([], { config: { User: '1000' } }), expect: 'none' },
  { name: 'User app resolves to uid 1000', rule: 'TC-MC-001', spec: image([], { config: { User: 'app' } }), expect: 'none' },
  { name: 'User app:0 (only the group is root)', rule: 'TC-MC-001', spec: image([], { config: { User: 'app:0' } }), expect: 'none' },
  { name: 'User 65532:65532 on an image without /etc/passwd', rule: 'TC-MC-001', spec: { layers: [{ entries: [{ path: 'app/x', body: 'x' }] }], config: { User: '65532:65532' } }, expect: 'none' },

  // TC-MC-002 setuid / setgid outside the allow-list
  { name: 'setuid root binary in /usr/local/bin', rule: 'TC-MC-002', spec: image([[{ path: 'usr/local/bin/escalate', body: 'ELF', mode: 0o4755 }]]), expect: { path: '/usr/local/bin/escalate', layer: 1, message: /setuid \(mode 4755, owner uid 0\)/ } },
  { name: 'setgid binary in /opt', rule: 'TC-MC-002', spec: image([[{ path: 'opt/tool/run', body: 'ELF', mode: 0o2755, gid: 42 }]]), expect: { path: '/opt/tool/run', layer: 1, message: /setgid \(mode 2755, group gid 42\)/ } },
  { name: 'setuid and setgid at once', rule: 'TC-MC-002', spec: image([[{ path: 'srv/both', body: 'ELF', mode: 0o6711 }]]), expect: { path: '/srv/both', message: /setuid and setgid/ } },
  { name: 'a custom allow-list without /usr/bin/passwd reports it', rule: 'TC-MC-002', spec: image([]), options: { setuidAllowList: ['/usr/bin/su'] }, expect: { path: '/usr/bin/passwd', layer: 0 } },
  { name: 'passwd and su are on the default allow-list', rule: 'TC-MC-002', spec: image([]), expect: 'none' },
  { name: 'a setuid bit on a file nobody can execute', rule: 'TC-MC-002', spec: image([[{ path: 'usr/local/bin/data', body: 'x', mode: 0o4644 }]]), expect: 'none' },
  { name: 'a custom allow-list naming the binary', rule: 'TC-MC-002', spec: image([[{ path: 'usr/local/bin/escalate', body: 'ELF', mode: 0o4755 }]]), options: { setuidAllowList: [...DEFAULT_SETUID_ALLOW_LIST, '/usr/local/bin/escalate'] }, expect: 'none' },
  { name: 'a setuid binary a later layer deletes', rule: 'TC-MC-002', spec: image([[{ path: 'usr/local/bin/escalate', body: 'ELF', mode: 0o4755 }], [{ path: 'usr/local/bin/.wh.escalate' }]]), expect: 'none' },
  { name: 'a setuid binary a later layer chmods back to 0755', rule: 'TC-MC-002', spec: image([[{ path: 'usr/local/bin/escalate', body: 'ELF', mode: 0o4755 }], [{ path: 'usr/local/bin/escalate', body: 'ELF', mode: 0o755 }]]), expect: 'none' },

  // TC-MC-003 world-writable in system paths
  { name: 'world-writable binary in /usr/local/bin', rule: 'TC-MC-003', spec: image([[{ path: 'usr/local/bin/tool', body: 'ELF', mode: 0o777 }]]), expect: { path: '/usr/local/bin/tool', layer: 1, message: /world-writable file .*mode 0777/ } },
  { name: 'world-writable config in /etc', rule: 'TC-MC-003', spec: image([[{ path: 'etc/app.conf', body: 'k=v', mode: 0o666 }]]), expect: { path: '/etc/app.conf', layer: 1 } },
  { name: 'world-writable library in /lib64', rule: 'TC-MC-003', spec: image([[{ path: 'lib64/libx.so', body: 'ELF', mode: 0o646 }]]), expect: { path: '/lib64/libx.so' } },
  { name: 'world-writable directory without sticky bit in /usr/share', rule: 'TC-MC-003', spec: image([[{ path: 'usr/share/drop/', type: 'dir', mode: 0o777 }]]), expect: { path: '/usr/share/drop', message: /directory \(without the sticky bit\)/ } },
  { name: 'sticky world-writable directories (/tmp, /usr/share/spool)', rule: 'TC-MC-003', spec: image([[{ path: 'usr/share/spool/', type: 'dir', mode: 0o1777 }]]), expect: 'none' },
  { name: 'world-writable file outside system paths (/home, /srv)', rule: 'TC-MC-003', spec: image([[{ path: 'home/app/data.txt', body: 'd', mode: 0o666 }, { path: 'srv/cache/x', body: 'c', mode: 0o777 }]]), expect: 'none' },
  { name: 'a symlink in /usr/bin (its 0777 mode means nothing)', rule: 'TC-MC-003', spec: image([[{ path: 'usr/bin/python', type: 'symlink', linkname: 'python3', mode: 0o777 }]]), expect: 'none' },
  { name: 'a 0755 binary in /usr/bin', rule: 'TC-MC-003', spec: image([[{ path: 'usr/bin/tool', body: 'ELF', mode: 0o755 }]]), expect: 'none' },

  // TC-MC-004 SSH server
  { name: 'OpenSSH server at /usr/sbin/sshd', rule: 'TC-MC-004', spec: image([[{ path: 'usr/sbin/sshd', body: 'ELF', mode: 0o755 }]]), expect: { path: '/usr/sbin/sshd', layer: 1, message: /SSH server is installed at \/usr\/sbin\/sshd/ } },
  { name: 'sshd reached through a merged-/usr /sbin link is reported once', rule: 'TC-MC-004', spec: image([[{ path: 'sbin', type: 'symlink', linkname: 'usr/sbin' }, { path: 'usr/sbin/sshd', body: 'ELF', mode: 0o755 }]]), expect: { count: 1, path: '/usr/sbin/sshd' } },
  { name: 'dropbear', rule: 'TC-MC-004', spec: image([[{ path: 'usr/sbin/dropbear', body: 'ELF', mode: 0o755 }]]), expect: { path: '/usr/sbin/dropbear' } },
  { name: 'only the SSH client', rule: 'TC-MC-004', spec: image([[{ path: 'usr/bin/ssh', body: 'ELF', mode: 0o755 }, { path: 'etc/ssh/ssh_config', body: 'Host *' }]]), expect: 'none' },
  { name: 'sshd removed by a later layer', rule: 'TC-MC-004', spec: image([[{ path: 'usr/sbin/sshd', body: 'ELF', mode: 0o755 }], [{ path: 'usr/sbin/.wh.sshd' }]]), expect: 'none' },

  // TC-MC-005 remote code at build time
  { name: 'BuildKit RUN curl | sh', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c curl -fsSL https://get.example.com/install.sh | sh # buildkit']), expect: { path: 'history[1]', layer: 1, message: /pipes a download \(curl https:\/\/get\.example\.com\/install\.sh\) into sh/ } },
  { name: 'classic wget -qO- | bash', rule: 'TC-MC-005', spec: history(['/bin/sh -c wget -qO- https://example.com/setup.sh | bash']), expect: { path: 'history[1]', layer: 1, message: /\(wget https:\/\/example\.com\/setup\.sh\) into bash/ } },
  { name: 'RUN with build args, curl | sudo -E bash -', rule: 'TC-MC-005', spec: history(['RUN |1 NODE_MAJOR=20 /bin/sh -c apt-get update && curl -fsSL https://deb.example.com/setup_$NODE_MAJOR.x | sudo -E bash - # buildkit']), expect: { message: /into bash/ } },
  { name: 'SHELL bash -o pipefail -c with curl | bash -s', rule: 'TC-MC-005', spec: history(['RUN /bin/bash -o pipefail -c curl -sSf https://sh.example.rs | bash -s -- -y # buildkit']), expect: { message: /\(curl https:\/\/sh\.example\.rs\/\) into bash/ } },
  { name: 'sh -c "$(curl …)"', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c sh -c "$(curl -fsSL https://raw.example.com/install.sh)" # buildkit']), expect: { message: /\(curl https:\/\/raw\.example\.com\/install\.sh\) into sh/ } },
  { name: 'curl | python3 -', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c curl -sSL https://install.example.org | python3 - # buildkit']), expect: { message: /into python3/ } },
  { name: 'ADD from a URL (BuildKit)', rule: 'TC-MC-005', spec: history(['ADD https://example.com/app.tar.gz /opt/ # buildkit']), expect: { path: 'history[1]', layer: 1, message: /ADDs https:\/\/example\.com\/app\.tar\.gz from the network/ } },
  { name: 'the URL is reported without credentials or query', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c curl https://user:hunter2@example.com/i.sh?token=abc123 | sh # buildkit']), expect: { message: /https:\/\/example\.com\/i\.sh\)/, hides: ['hunter2', 'abc123', 'user:'] } },
  { name: 'download, verify, then run', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c curl -fsSLo /tmp/i.sh https://example.com/i.sh && echo "abc  /tmp/i.sh" | sha256sum -c - && sh /tmp/i.sh # buildkit']), expect: 'none' },
  { name: 'curl | gpg --dearmor (not a shell)', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c curl -fsSL https://example.com/key.asc | gpg --dearmor -o /usr/share/keyrings/x.gpg # buildkit']), expect: 'none' },
  { name: 'curl | python3 -c (parses, does not run, stdin)', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c curl -s https://api.example.com/latest | python3 -c "import json,sys; print(json.load(sys.stdin))" # buildkit']), expect: 'none' },
  { name: 'installing curl is not piping it', rule: 'TC-MC-005', spec: history(['RUN /bin/sh -c apt-get update && apt-get install -y curl bash # buildkit']), expect: 'none' },
  { name: 'ADD of a local file, BuildKit and classic', rule: 'TC-MC-005', spec: history(['ADD app.tar.gz /opt/ # buildkit', '/bin/sh -c #(nop) ADD file:4e7247c06de9ad117 in / ']), expect: 'none' },
  { name: 'ADD --checksum pins the download', rule: 'TC-MC-005', spec: history([`ADD --checksum=sha256:${'a'.repeat(64)} https://example.com/app.tar.gz /opt/ # buildkit`]), expect: 'none' },
  { name: 'a LABEL that mentions curl | sh', rule: 'TC-MC-005', spec: history([], ['/bin/sh -c #(nop)  LABEL install=curl https://x.example | sh', 'LABEL how="curl https://x.example | sh" # buildkit']), expect: 'none' },

  // TC-MC-006 secrets as build args
  { name: 'ARG NPM_TOKEN=… (BuildKit)', rule: 'TC-MC-006', spec: history([], ['ARG NPM_TOKEN=npm_s3cr3tValue']), expect: { path: 'history[1]', layer: null, message: /build argument NPM_TOKEN with its value \(redacted\)/, hides: ['npm_s3cr3tValue'] } },
  { name: 'classic #(nop) ARG DB_PASSWORD=…', rule: 'TC-MC-006', spec: history([], ['/bin/sh -c #(nop)  ARG DB_PASSWORD=hunter2']), expect: { message: /DB_PASSWORD/, hides: ['hunter2'] } },
  { name: 'BuildKit RUN |2 GITHUB_TOKEN=… TARGETARCH=…', rule: 'TC-MC-006', spec: history(['RUN |2 GITHUB_TOKEN=ghp_abcdef123 TARGETARCH=amd64 /bin/sh -c npm ci # buildkit']), expect: { path: 'history[1]', layer: 1, message: /GITHUB_TOKEN/, hides: ['ghp_abcdef123', 'TARGETARCH'] } },
  { name: 'classic |1 AWS_SECRET_ACCESS_KEY=…', rule: 'TC-MC-006', spec: history(['|1 AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI /bin/sh -c make']), expect: { message: /AWS_SECRET_ACCESS_KEY/, hides: ['wJalrXUtnFEMI'] } },
  { name: 'one finding per name, counting the other entries', rule: 'TC-MC-006', spec: history(['RUN |1 API_KEY=k1 /bin/sh -c make # buildkit', 'RUN |1 API_KEY=k1 /bin/sh -c make install # buildkit']), expect: { count: 1, path: 'history[1]', message: /and in 1 more history entry/, hides: ['k1'] } },
  { name: 'ARG NPM_TOKEN without a default', rule: 'TC-MC-006', spec: history([], ['ARG NPM_TOKEN', '/bin/sh -c #(nop)  ARG NPM_TOKEN']), expect: 'none' },
  { name: 'an empty value', rule: 'TC-MC-006', spec: history(['RUN |1 NPM_TOKEN= /bin/sh -c npm ci # buildkit']), expect: 'none' },
  { name: 'build args that are not secrets', rule: 'TC-MC-006', spec: history(['RUN |2 TARGETARCH=amd64 BYPASS_CACHE=1 /bin/sh -c make # buildkit'], ['ARG GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305', 'ARG PASSWORD_FILE=/run/secrets/db']), expect: 'none' },

  // TC-MC-007 no HEALTHCHECK
  { name: 'no Healthcheck', rule: 'TC-MC-007', spec: image([], { config: { Healthcheck: undefined } }), expect: { path: 'config:Healthcheck', layer: null, message: /defines no HEALTHCHECK/ } },
  { name: 'HEALTHCHECK NONE', rule: 'TC-MC-007', spec: image([], { config: { Healthcheck: { Test: ['NONE'] } } }), expect: { message: /disables its health check/ } },
  { name: 'HEALTHCHECK CMD', rule: 'TC-MC-007', spec: image([], { config: { Healthcheck: { Test: ['CMD', 'curl', '-f', 'http://localhost/'] } } }), expect: 'none' },
  { name: 'HEALTHCHECK CMD-SHELL', rule: 'TC-MC-007', spec: image([], { config: { Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- localhost:8080/health'] } } }), expect: 'none' },
];

describe('misconfiguration rules on built images', () => {
  it.each(CASES.map((c) => [`${c.rule} ${c.expect === 'none' ? '−' : '+'} ${c.name}`, c] as const))('%s', async (_name, c) => {
    const built = buildImage(c.spec);
    const { result, layers } = await runOnBuilt(built, createMisconfigCheck(c.options));
    expect(result.unknowns).toEqual([]);
    const mine = result.findings.filter((f) => f.id === c.rule) as MisconfigFinding[];
    if (c.expect === 'none') {
      expect(mine).toEqual([]);
      return;
    }
    const e = c.expect;
    expect(mine).toHaveLength(e.count ?? 1);
    const rule = MISCONFIG_RULES.find((r) => r.id === c.rule)!;
    const f = mine[0];
    expect(f).toMatchObject({ type: 'misconfig', id: rule.id, aliases: [], severity: rule.severity, remediation: rule.remediation });
    if (e.path !== undefined) expect(f.path).toBe(e.path);
    if (e.layer === null) expect(f.layer).toBeUndefined();
    else if (e.layer !== undefined) expect(f.layer).toBe(layers[e.layer].digest);
    if (e.message) expect(f.message).toMatch(e.message);
    for (const s of e.hides ?? []) for (const x of mine) expect(x.message).not.toContain(s);
  });

  it('has a positive and a negative case for every rule', () => {
    for (const r of MISCONFIG_RULES) {
      const mine = CASES.filter((c) => c.rule === r.id);
      expect({ rule: r.id, positive: mine.some((c) => c.expect !== 'none'), negative: mine.some((c) => c.expect === 'none') }).toEqual({ rule: r.id, positive: true, negative: true });
    }
  });
});

describe('the misconfiguration check', () => {
  it('lists its rules explicitly, with unique TC-MC ids, a title, a severity and a remediation line', () => {
    const ids = MISCONFIG_RULES.map((r) => r.id);
    expect(ids).toEqual(['TC-MC-001', 'TC-MC-002', 'TC-MC-003', 'TC-MC-004', 'TC-MC-005', 'TC-MC-006', 'TC-MC-007']);
    expect(MISCONFIG_RULES.map((r) => [r.id, r.severity])).toEqual([
      ['TC-MC-001', 'high'], ['TC-MC-002', 'medium'], ['TC-MC-003', 'high'], ['TC-MC-004', 'medium'], ['TC-MC-005', 'medium'], ['TC-MC-006', 'high'], ['TC-MC-007', 'low'],
    ]);
    for (const r of MISCONFIG_RULES) {
      expect(r.title.length).toBeGreaterThan(5);
      expect(r.remediation).not.toContain('\n');
      expect(r.remediation.length).toBeGreaterThan(20);
    }
  });

  it('a well-configured image has no misconfiguration finding', async () => {
    const { result } = await runOnBuilt(buildImage(image([[{ path: 'app/server', body: 'ELF', mode: 0o755 }]])), createMisconfigCheck());
    expect(result).toEqual({ findings: [], unknowns: [] });
  });

  it('a badly configured image gets one finding per rule, each with the rule\'s remediation', async () => {
    const built = buildImage({
      layers: [
        { entries: [...BASE_FILES, { path: 'usr/sbin/sshd', body: 'ELF', mode: 0o755 }], createdBy: 'ADD file:0123 in /' },
        { entries: [{ path: 'usr/local/bin/helper', body: 'ELF', mode: 0o4777 }], createdBy: 'RUN |1 NPM_TOKEN=npm_x /bin/sh -c curl -fsSL https://x.example/i | sh # buildkit' },
      ],
      config: {},
    });
    const { result } = await runOnBuilt(built, createMisconfigCheck());
    expect(result.unknowns).toEqual([]);
    expect(result.findings.map((f) => f.id).sort()).toEqual(['TC-MC-001', 'TC-MC-002', 'TC-MC-003', 'TC-MC-004', 'TC-MC-005', 'TC-MC-006', 'TC-MC-007']);
    for (const f of result.findings as MisconfigFinding[]) expect(f.remediation).toBe(MISCONFIG_RULES.find((r) => r.id === f.id)!.remediation);
    expect(JSON.stringify(result.findings)).not.toContain('npm_x');
  });

  it('asks the layer reader for /etc/passwd only', () => {
    const check = createMisconfigCheck();
    const file = { type: 'file' as const, size: 10, mode: 0o644, uid: 0, gid: 0, mtime: 0 };
    expect(check.wants?.('/etc/passwd', file)).toBe(true);
    expect(check.wants?.('/etc/passwd', { ...file, type: 'hardlink' })).toBe(true);
    expect(check.wants?.('/etc/shadow', file)).toBe(false);
    expect(check.wants?.('/usr/sbin/sshd', { ...file, mode: 0o755 })).toBe(false);
  });

  it('a user name it cannot resolve because /etc/passwd was cut short is an unknown, not a pass or a finding', async () => {
    const built = buildImage(image([], { config: { User: 'app' } }));
    const { result } = await runOnBuilt(built, createMisconfigCheck(), { ...DEFAULT_LIMITS, maxCatalogFileBytes: 16 });
    expect(result.findings.filter((f) => f.id === 'TC-MC-001')).toEqual([]);
    expect(result.unknowns).toEqual([{ layer: built.root.digest, path: 'config:User', reason: expect.stringContaining('was not read whole'), class: 'body-not-read', consumer: 'misconfig' }]);
  });

  it('caps the findings of one rule and says how many more there were', async () => {
    const files: TarEntry[] = ['a', 'b', 'c', 'd', 'e'].map((n) => ({ path: `usr/lib/x/${n}`, body: n, mode: 0o666 }));
    const { result } = await runOnBuilt(buildImage(image([files])), createMisconfigCheck({ maxFindingsPerRule: 2 }));
    const ww = result.findings.filter((f) => f.id === 'TC-MC-003');
    expect(ww.map((f) => f.path)).toEqual(['/usr/lib/x/a', '/usr/lib/x/b', undefined]);
    expect(ww[2].message).toMatch(/3 more not listed \(5 in all; maxFindingsPerRule=2\)/);
  });

  it('puts a custom allow-list into its version, and rejects relative paths', () => {
    expect(createMisconfigCheck().version).toBe(MISCONFIG_CHECK_VERSION);
    const a = createMisconfigCheck({ setuidAllowList: ['/usr/bin/su'] }).version;
    expect(a).toMatch(/^1\.0\.0\+allow\.[0-9a-f]{12}$/);
    expect(createMisconfigCheck({ setuidAllowList: ['/usr/bin/su', '/usr/bin/passwd'] }).version).not.toBe(a);
    expect(createMisconfigCheck().name).toBe('misconfig');
    expect(createMisconfigCheck().kind).toBe('image');
    expect(() => createMisconfigCheck({ setuidAllowList: ['usr/bin/su'] })).toThrow(/absolute paths/);
    expect(() => createMisconfigCheck({ maxFindingsPerRule: 0 })).toThrow(RangeError);
  });
});
