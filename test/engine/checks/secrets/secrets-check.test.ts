import { checkFingerprint } from '../../../../lib/engine/checks/fingerprint';
import {
  BINARY_PROBE_BYTES,
  DEFAULT_MAX_FILE_BYTES,
  MAX_FINDINGS_PER_TEXT,
  createSecretsFileCheck,
  createSecretsImageCheck,
  isThirdPartyTestData,
  looksBinary,
  rulesFingerprint,
  secretsWants,
} from '../../../../lib/engine/checks/secrets';
import type { ImageCheckContext } from '../../../../lib/engine/checks/types';
import { FileTree } from '../../../../lib/engine/layers/file-tree';
import type { EntryInfo } from '../../../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import type { Digest, ImageConfig } from '../../../../lib/engine/model';
import { ALNUM, checkFile, expectNoLeak, fake, fakeChars, fileInfo, generatedKeys, pemBody, scanFiles } from './helpers';
import { SecretStreamScanner, findSecrets, MAX_MATCH_CHARS, RULE_CONTEXT_CHARS } from '../../../../lib/engine/checks/secrets/rules';

const MiB = 1024 * 1024;
const LAYER = `sha256:${'cd'.repeat(32)}`;

describe('secretsWants: which bodies the check asks the layer reader for', () => {
  const wants = secretsWants();
  it.each<[string, string, EntryInfo, boolean]>([
    ['an .env file', '/app/.env', fileInfo(200), true],
    ['an SSH private key', '/root/.ssh/id_rsa', fileInfo(1700, 'file', 0o600), true],
    ['a config file in /etc', '/etc/app/app.yaml', fileInfo(4096), true],
    ['a hardlink to a small file', '/app/.env.bak', fileInfo(200, 'hardlink'), true],
    ['an extension-less executable (binary or script: decided at scan time)', '/usr/local/bin/entrypoint', fileInfo(300 * 1024, 'file', 0o755), true],
    ['the image\'s own test folder (an image is production)', '/app/test/.env', fileInfo(100), true],
    ['a package\'s source in node_modules', '/app/node_modules/left-pad/index.js', fileInfo(2048), true],
    ['a .git config (remote URLs with tokens)', '/app/.git/config', fileInfo(300), true],
    ['exactly 1 MiB', '/srv/data.json', fileInfo(DEFAULT_MAX_FILE_BYTES), true],
    ['1 MiB + 1: over the cap', '/srv/data.json', fileInfo(DEFAULT_MAX_FILE_BYTES + 1), false],
    ['an empty file', '/app/.env', fileInfo(0), false],
    ['a symlink', '/app/current', { ...fileInfo(0, 'symlink'), linkname: '/app/v2' }, false],
    ['a directory', '/app', fileInfo(0, 'dir'), false],
    ['a shared library (.so.N) in the multiarch folder', '/usr/lib/x86_64-linux-gnu/libssl.so.3', fileInfo(600 * 1024), false],
    ['a text file in the multiarch folder', '/usr/lib/aarch64-linux-gnu/pkgconfig/openssl.pc', fileInfo(300), false],
    ['a multiarch library under /lib', '/lib/x86_64-linux-gnu/libc.so.6', fileInfo(900 * 1024), false],
    ['a shared object elsewhere', '/opt/app/libx.so', fileInfo(1000), false],
    ['a Java archive', '/app/lib/app.jar', fileInfo(1000), false],
    ['Python bytecode', '/app/__pycache__/settings.cpython-312.pyc', fileInfo(1000), false],
    ['a PNG', '/app/static/logo.PNG', fileInfo(1000), false],
    ['a font', '/app/static/font.woff2', fileInfo(1000), false],
    ['a gzip archive', '/tmp/x.tar.gz', fileInfo(1000), false],
    ['WebAssembly', '/app/x.wasm', fileInfo(1000), false],
    ['a source map', '/app/static/main.js.map', fileInfo(1000), false],
    ['a README.md (Trivy\'s markdown allow rule)', '/app/README.md', fileInfo(1000), false],
    ['documentation under /usr/share/doc', '/usr/share/doc/openssl/README', fileInfo(1000), false],
    ['a man page', '/usr/share/man/man1/ls.1', fileInfo(1000), false],
    ['the public CA bundle sources', '/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt', fileInfo(1000), false],
    ['the dpkg database', '/var/lib/dpkg/status', fileInfo(100 * 1024), false],
    ['a git object', '/app/.git/objects/ab/cdef0123', fileInfo(1000), false],
    ['node_modules test keys (tunnel, TruffleHog #5299)', '/app/node_modules/tunnel/test/keys/agent1-key.pem', fileInfo(900), false],
    ['scoped node_modules fixtures', '/app/node_modules/@scope/pkg/__fixtures__/key.pem', fileInfo(900), false],
    ['pycryptodome SelfTest in site-packages', '/usr/local/lib/python3.12/site-packages/Crypto/SelfTest/PublicKey/test_import_RSA.py', fileInfo(9000), false],
    ['a Debian Python package\'s tests', '/usr/lib/python3/dist-packages/twisted/test/server.pem', fileInfo(3000), false],
    ['a Python package\'s own code', '/usr/local/lib/python3.12/site-packages/requests/auth.py', fileInfo(9000), true],
    ['Go toolchain test file', '/usr/local/go/src/crypto/x509/x509_test.go', fileInfo(90000), false],
    ['Go toolchain testdata', '/usr/local/go/src/crypto/tls/testdata/example-key.pem', fileInfo(300), false],
    ['Go module cache testdata', '/go/pkg/mod/golang.org/x/crypto@v0.31.0/ssh/testdata/keys.go', fileInfo(30000), false],
    ['Go module cache source', '/go/pkg/mod/golang.org/x/crypto@v0.31.0/ssh/keys.go', fileInfo(30000), true],
    ['composer vendor tests', '/var/www/vendor/phpseclib/phpseclib/tests/Unit/Crypt/RSA/LoadKeyTest.php', fileInfo(30000), false],
    ['CPython\'s own test certificates (Lib/test/certdata)', '/usr/local/lib/python3.12/test/certdata/keycert.pem', fileInfo(4000), false],
    ['a CPython standard-library module', '/usr/local/lib/python3.12/ssl.py', fileInfo(50000), true],
    ['botocore API examples (Trivy #2296)', '/usr/local/lib/python3.12/site-packages/botocore/data/iam/2010-05-08/examples-1.json', fileInfo(60000), false],
    ['a third_party test file by name (test_*.py)', '/opt/sdk/lib/third_party/google/auth/transport/test__mtls_helper.py', fileInfo(9000), false],
    ['a *.spec.ts in node_modules', '/app/node_modules/pkg/src/auth.spec.ts', fileInfo(2000), false],
    ['the image\'s own examples folder', '/app/examples/config.env', fileInfo(200), true],
    ['documentation installed under /opt', '/opt/tool/share/doc/html/registries.html', fileInfo(9000), false],
    ['C headers', '/usr/include/openssl/ssl.h', fileInfo(90000), false],
  ])('%s → %s', (_name, path, info, wanted) => {
    expect(wants(path, info)).toBe(wanted);
  });

  it('maxFileBytes moves the cap; a bad cap is refused', () => {
    expect(secretsWants(4 * MiB)('/srv/data.json', fileInfo(2 * MiB))).toBe(true);
    expect(createSecretsFileCheck({ maxFileBytes: 100 }).openLayer(LAYER as Digest).file('/app/.env', fileInfo(101))).toBeUndefined();
    expect(createSecretsFileCheck({ maxFileBytes: 100 }).openLayer(LAYER as Digest).file('/app/.env', fileInfo(100))).toBeDefined();
    expect(() => createSecretsFileCheck({ maxFileBytes: 0 })).toThrow(RangeError);
    expect(() => createSecretsFileCheck({ maxFileBytes: 1.5 })).toThrow(RangeError);
  });

  it.each([
    ['/app/test/x', false],
    ['/app/node_modules/a/lib/test.js', false],
    ['/app/node_modules/a/test/x', true],
    ['/usr/local/go/src/x_test.go', true],
    ['/src/x_test.go', false],
  ])('isThirdPartyTestData(%s) → %s', (path, expected) => {
    expect(isThirdPartyTestData(path)).toBe(expected);
  });
});

describe('the secrets file check', () => {
  const check = createSecretsFileCheck();
  const ghp = fake.github('ghp');
  const npm = fake.npm();
  const password = fake.password();
  const { rsa } = generatedKeys();

  it('is a file check named secrets whose version carries the rules fingerprint', () => {
    expect(check).toMatchObject({ kind: 'file', name: 'secrets', version: `2.0.0+rules.${rulesFingerprint()}` });
    expect(checkFingerprint([check])).toBe(`file:secrets@2.0.0+rules.${rulesFingerprint()}`);
  });

  it('reports each secret with the layer, the path, the rule id and severity, the line and a redacted match', async () => {
    const env = `# production settings\nNODE_ENV=production\nGITHUB_TOKEN=${ghp}\nDB_PASSWORD="${password}"\n`;
    const r = await scanFiles(check, [checkFile('/app/.env', env, { layer: LAYER }), checkFile('/root/.ssh/id_rsa', rsa, { layer: LAYER })]);
    expect(r.unknowns).toEqual([]);
    expect(r.findings).toEqual([
      { type: 'secret', id: 'github-token', aliases: [], severity: 'critical', layer: LAYER, path: '/app/.env', message: `GitHub token (personal access token) in /app/.env line 3: ${ghp.slice(0, 4)}*** [40 chars]` },
      { type: 'secret', id: 'generic-secret', aliases: [], severity: 'medium', layer: LAYER, path: '/app/.env', message: `Hard-coded secret assignment (DB_PASSWORD) in /app/.env line 4: ${password.slice(0, 4)}*** [20 chars]` },
      { type: 'secret', id: 'private-key', aliases: [], severity: 'high', layer: LAYER, path: '/root/.ssh/id_rsa', message: expect.stringMatching(/^Private key \(RSA PRIVATE KEY\) in \/root\/\.ssh\/id_rsa line 2: MIIE\*\*\* \[\d+ chars\]$/) },
    ]);
    expectNoLeak(r, [ghp, password, pemBody(rsa)]);
  });

  it('a binary (NUL byte in the first 8 KiB) is not scanned, even with a token in it', async () => {
    const elf = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x00', 'latin1'), Buffer.from(`\0\0token=${ghp}\0`)]);
    expect(looksBinary(elf)).toBe(true);
    const r = await scanFiles(check, [checkFile('/usr/local/bin/tool', elf)]);
    expect(r).toEqual({ findings: [], unknowns: [] });
  });

  it('a NUL byte after the first 8 KiB does not make a text binary', async () => {
    const body = Buffer.concat([Buffer.from(`API_TOKEN=${ghp}\n`), Buffer.alloc(BINARY_PROBE_BYTES, 0x20), Buffer.from([0])]);
    expect(looksBinary(body)).toBe(false);
    const r = await scanFiles(check, [checkFile('/app/data.txt', body)]);
    expect(r.findings.map((f) => f.id)).toEqual(['github-token']);
  });

  it('a file without secrets gives nothing', async () => {
    const r = await scanFiles(check, [checkFile('/etc/app.conf', 'listen 8080\npassword_file=/run/secrets/db\ntoken: ${TOKEN}\n')]);
    expect(r).toEqual({ findings: [], unknowns: [] });
  });

  it('the same secret twice in a file is one finding, at its first line', async () => {
    const r = await scanFiles(check, [checkFile('/app/run.sh', `export T=${ghp}\necho\ncurl -u x:${ghp}\n`)]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].message).toContain('line 1');
  });

  it(`at most ${MAX_FINDINGS_PER_TEXT} findings per file; the last says how many more`, async () => {
    const tokens = Array.from({ length: MAX_FINDINGS_PER_TEXT + 5 }, (_, i) => fake.github('ghp', 100 + i));
    const r = await scanFiles(check, [checkFile('/app/tokens.txt', tokens.join('\n'))]);
    expect(r.findings).toHaveLength(MAX_FINDINGS_PER_TEXT);
    expect(r.findings[MAX_FINDINGS_PER_TEXT - 1].message).toMatch(/\(and 5 more secrets in \/app\/tokens\.txt not listed\)$/);
    expectNoLeak(r, tokens);
  });

  it.each([[1], [13], [4096]])('streamed in %i-byte chunks: the same findings as the whole body (key, tokens, binary probe)', async (chunk) => {
    const env = `# production settings\nNODE_ENV=production\nGITHUB_TOKEN=${ghp}\nDB_PASSWORD="${password}"\n`;
    const files = [checkFile('/app/.env', env, { layer: LAYER }), checkFile('/root/.ssh/id_rsa', rsa, { layer: LAYER }), checkFile('/usr/local/bin/tool', Buffer.concat([Buffer.from('\x7fELF\0\0', 'latin1'), Buffer.from(`token=${ghp}`)]), { layer: LAYER })];
    const whole = await scanFiles(check, files, 1 << 30);
    expect(whole.findings).toHaveLength(3);
    expect(await scanFiles(check, files, chunk)).toEqual(whole);
  });

  it('a body larger than a scan window: windows that overlap by the longest match and its context find what one pass finds, at the right lines', async () => {
    // Secrets at window seams: block of 4096 characters, overlap ~270 KB, body ~1.3 MB with secrets every ~97 KB.
    const filler = (n: number): string => 'lorem ipsum dolor sit amet\n'.repeat(Math.ceil(n / 27)).slice(0, n);
    const keys = Array.from({ length: 12 }, (_, i) => fake.github('ghp', 300 + i));
    let text = '';
    keys.forEach((k, i) => {
      text += filler(97_000 + i * 13);
      text += i % 3 === 0 ? `-----BEGIN RSA PRIVATE KEY-----\n${pemBody(rsa)}\n-----END RSA PRIVATE KEY-----\n` : `export T${i}=${k}\nDB_PASSWORD="${fake.password(500 + i)}"\n`;
    });
    const expected = findSecrets(text);
    expect(expected.length).toBeGreaterThan(12);
    for (const block of [4096, 65_536, MAX_MATCH_CHARS + RULE_CONTEXT_CHARS]) {
      const s = new SecretStreamScanner(undefined, block);
      const bytes = Buffer.from(text, 'latin1');
      for (let off = 0; off < bytes.length; off += 10_007) s.write(bytes.subarray(off, off + 10_007));
      expect(s.end()).toEqual(expected);
    }
  });

  it('a UTF-8 file with non-ASCII text around a secret is still scanned', async () => {
    const r = await scanFiles(check, [checkFile('/app/notes.txt', `Clé d'accès → ${npm} ✓\n`)]);
    expect(r.findings.map((f) => f.id)).toEqual(['npm-token']);
  });
});

describe('the secrets image check (config and history)', () => {
  const check = createSecretsImageCheck();
  const ghp = fake.github('ghp');
  const npm = fake.npm();
  const awsKey = fake.awsKeyId();
  const awsSecret = fake.awsSecret();
  const password = fake.password();
  const layers = [`sha256:${'11'.repeat(32)}`, `sha256:${'22'.repeat(32)}`] as Digest[];
  const ctx = (config: unknown): ImageCheckContext => ({
    config: config as ImageConfig,
    tree: FileTree.squash([], DEFAULT_LIMITS),
    layers,
    manifestDigest: `sha256:${'ee'.repeat(32)}` as Digest,
  });
  const base = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };

  it('is an image check named secrets-config', () => {
    expect(check).toMatchObject({ kind: 'image', name: 'secrets-config', version: `2.0.0+rules.${rulesFingerprint()}` });
    expect(check.wants).toBeUndefined();
  });

  it('reports Env entries with path config:Env[i]', async () => {
    const r = await check.run(ctx({ ...base, config: { Env: ['PATH=/usr/local/bin:/usr/bin', 'LANG=C.UTF-8', `GITHUB_TOKEN=${ghp}`, `DB_PASSWORD=${password}`] } }));
    expect(r.unknowns).toEqual([]);
    expect(r.findings).toEqual([
      { type: 'secret', id: 'github-token', aliases: [], severity: 'critical', path: 'config:Env[2]', message: `GitHub token (personal access token) in config:Env[2]: ${ghp.slice(0, 4)}*** [40 chars]` },
      { type: 'secret', id: 'generic-secret', aliases: [], severity: 'medium', path: 'config:Env[3]', message: `Hard-coded secret assignment (DB_PASSWORD) in config:Env[3]: ${password.slice(0, 4)}*** [20 chars]` },
    ]);
    expectNoLeak(r, [ghp, password]);
  });

  it('the Env of official images (GPG keys, checksums, versions) is not reported', async () => {
    const Env = [
      'PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `GPG_KEY=${fakeChars(40, '0123456789ABCDEF', 1)}`,
      'PYTHON_VERSION=3.12.7',
      `PYTHON_SHA256=${fakeChars(64, '0123456789abcdef', 2)}`,
      'NODE_VERSION=20.18.0',
      'YARN_VERSION=1.22.22',
      'NPM_CONFIG_TOKEN=${NPM_TOKEN}',
      'JAVA_HOME=/opt/java/openjdk',
    ];
    const r = await check.run(ctx({ ...base, config: { Env } }));
    expect(r).toEqual({ findings: [], unknowns: [] });
  });

  it('reports history lines with path history[i] and the layer each made', async () => {
    const history = [
      { created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
      { created_by: `ARG NPM_TOKEN=${npm}`, empty_layer: true },
      { created_by: `RUN |1 NPM_TOKEN=${npm} /bin/sh -c npm ci && curl -H "Authorization: token ${ghp}" https://api.github.com/repos/x/y` },
      { created_by: `ENV AWS_ACCESS_KEY_ID=${awsKey} AWS_SECRET_ACCESS_KEY=${awsSecret}`, empty_layer: true },
      { created_by: 'CMD ["node", "server.js"]', empty_layer: true },
    ];
    const r = await check.run(ctx({ ...base, history }));
    expect(r.unknowns).toEqual([]);
    expect(r.findings.map((f) => [f.id, f.path, f.layer])).toEqual([
      ['npm-token', 'history[1]', undefined],
      ['npm-token', 'history[2]', layers[1]],
      ['github-token', 'history[2]', layers[1]],
      ['aws-access-key-id', 'history[3]', undefined],
      ['aws-secret-access-key', 'history[3]', undefined],
    ]);
    expectNoLeak(r, [npm, ghp, awsSecret, awsKey]);
  });

  it('a history that does not line up with the layers gives no layer (never a wrong one)', async () => {
    const r = await check.run(ctx({ ...base, history: [{ created_by: `RUN echo ${ghp}` }] }));
    expect(r.findings.map((f) => [f.path, f.layer])).toEqual([['history[0]', undefined]]);
  });

  it('a multi-line history entry (heredoc) says the line', async () => {
    const r = await check.run(ctx({ ...base, history: [{ created_by: `RUN <<EOF\nset -e\necho ${npm} > ~/.npmrc\nEOF` }] }));
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringContaining('in history[0] line 3:')]);
  });

  it('Entrypoint, Cmd and Labels are scanned too', async () => {
    const r = await check.run(ctx({ ...base, config: { Entrypoint: ['/app/run', `--token=${ghp}`], Cmd: ['--npm', npm], Labels: { 'ci.slack-token': fake.slack(), 'org.opencontainers.image.revision': fakeChars(40, 'abcdef0123456789', 4) } } }));
    expect(r.findings.map((f) => [f.id, f.path])).toEqual([
      ['github-token', 'config:Entrypoint[1]'],
      ['npm-token', 'config:Cmd[1]'],
      ['slack-token', 'config:Labels["ci.slack-token"]'],
    ]);
  });

  it('a config with no runtime config and no history gives nothing', async () => {
    expect(await check.run(ctx(base))).toEqual({ findings: [], unknowns: [] });
    expect(await check.run(ctx({ ...base, config: { Env: null, Cmd: null, Labels: null } }))).toEqual({ findings: [], unknowns: [] });
  });

  it('malformed config fields are unknowns, never a throw', async () => {
    const r = await check.run(ctx({ ...base, config: { Env: 'TOKEN=x', Cmd: [42, `--t=${npm}`], Labels: ['x'] }, history: [null, { created_by: 7 }, { created_by: `ENV X=${ghp}` }] }));
    expect(r.unknowns.map((u) => [u.path, u.reason])).toEqual([
      ['config:Env', 'secrets: config.Env is not a list'],
      ['config:Cmd[0]', 'secrets: config.Cmd[0] is not a string'],
      ['config:Labels', 'secrets: config.Labels is not an object'],
      ['history[0]', 'secrets: history[0] is not an object'],
      ['history[1]', 'secrets: history[1].created_by is not a string'],
    ]);
    for (const u of r.unknowns) expect(u.layer).toBe(`sha256:${'ee'.repeat(32)}`);
    expect(r.findings.map((f) => [f.id, f.path])).toEqual([
      ['npm-token', 'config:Cmd[1]'],
      ['github-token', 'history[2]'],
    ]);
    expect(await check.run(ctx({ ...base, history: 'nope' }))).toEqual({ findings: [], unknowns: [{ layer: `sha256:${'ee'.repeat(32)}`, path: 'history', reason: 'secrets: config history is not a list' }] });
  });

  it('no generated fake secret leaks through any field of any result', async () => {
    const secrets = [ghp, npm, awsSecret, password, fake.slack(), fake.githubFineGrained(), fakeChars(30, ALNUM, 9)];
    const r = await check.run(ctx({ ...base, config: { Env: secrets.map((s, i) => `SECRET_${i}=${s}`) }, history: secrets.map((s) => ({ created_by: `RUN echo token=${s}` })) }));
    expect(r.findings.length).toBeGreaterThanOrEqual(secrets.length * 2);
    expectNoLeak(r, secrets);
  });
});
