import { findPipeToShell, isSecretName, recordedBuildArgs, remoteAddSources, runCommand } from '../../../../lib/engine/checks/misconfig';

describe('history line parsing', () => {
  const RUN: readonly (readonly [string, string | undefined])[] = [
    ['RUN /bin/sh -c make # buildkit', '/bin/sh -c make'],
    ['RUN |2 A=1 B=2 /bin/sh -c make # buildkit', '/bin/sh -c make'],
    ['|1 A=1 /bin/sh -c make', '/bin/sh -c make'],
    ['/bin/sh -c make', '/bin/sh -c make'],
    ['/bin/sh -c #(nop)  CMD ["x"]', undefined],
    ['ENV PATH=/usr/local/bin # buildkit', undefined],
    ['COPY . /app # buildkit', undefined],
  ];
  it.each(RUN)('runCommand(%j) = %j', (line, cmd) => expect(runCommand(line)).toBe(cmd));

  const PIPES: readonly (readonly [string, string | undefined])[] = [
    ['curl -fsSL https://x.example/i.sh | sh', 'curl|sh'],
    ['wget -O - https://x.example/i.sh | /bin/bash', 'wget|bash'],
    ['env FOO=1 curl https://x.example/i | tee /tmp/log | sudo sh -s', 'curl|sh'],
    ['busybox wget -qO- https://x.example/i | ash', 'wget|ash'],
    ['curl https://x.example/i |& bash', 'curl|bash'],
    ['bash <(curl -s https://x.example/i)', 'curl|bash'],
    ['eval "$(wget -qO- https://x.example/i)"', 'wget|eval'],
    ['curl https://x.example/i | perl', 'curl|perl'],
    ['curl https://x.example/i -o i && sh i', undefined],
    ['curl https://x.example/i | tar xz', undefined],
    ['curl https://x.example/i | sh -c "cat > /x"', undefined],
    ['echo curl | sh', undefined],
    ['curl https://x.example/i 2>&1 | grep ok', undefined],
  ];
  it.each(PIPES)('findPipeToShell(%j) = %j', (cmd, want) => {
    const p = findPipeToShell(cmd);
    expect(p ? `${p.fetcher}|${p.shell}` : undefined).toBe(want);
  });

  const ADDS: readonly (readonly [string, readonly string[]])[] = [
    ['ADD https://x.example/a.tgz /opt/ # buildkit', ['https://x.example/a.tgz']],
    ['ADD --chown=1:1 https://x.example/a https://y.example/b?sig=s3cr3t /opt/ # buildkit', ['https://x.example/a', 'https://y.example/b']],
    ['/bin/sh -c #(nop) ADD ["https://x.example/a", "/a"]', ['https://x.example/a']],
    ['ADD --checksum=sha256:abc https://x.example/a /a # buildkit', []],
    ['ADD file:abc in / ', []],
    ['COPY https://x.example/a /a # buildkit', []],
  ];
  it.each(ADDS)('remoteAddSources(%j) = %j', (line, urls) => expect(remoteAddSources(line)).toEqual(urls));

  const ARGS: readonly (readonly [string, readonly string[]])[] = [
    ['ARG A=1 B= C="" D=x', ['A', 'D']],
    ['/bin/sh -c #(nop)  ARG TOKEN=abc', ['TOKEN']],
    ['RUN |2 X=1 Y=2 /bin/sh -c Z=3 make # buildkit', ['X', 'Y']],
    ['|1 X= /bin/sh -c Z=3 make', []],
    ['RUN /bin/sh -c TOKEN=abc make # buildkit', []],
  ];
  it.each(ARGS)('recordedBuildArgs(%j) = %j', (line, names) => expect(recordedBuildArgs(line)).toEqual(names));

  const NAMES: readonly (readonly [string, boolean])[] = [
    ['NPM_TOKEN', true], ['GITHUB_TOKEN', true], ['DB_PASSWORD', true], ['db-pass', true], ['MYSQL_ROOT_PASSWD', true],
    ['API_KEY', true], ['apikey', true], ['AWS_ACCESS_KEY_ID', true], ['AWS_SECRET_ACCESS_KEY', true], ['SSH_PRIVATE_KEY', true],
    ['CLIENT_SECRET', true], ['NPM_AUTH', true], ['REGISTRY_CREDENTIALS', true], ['GPG_PASSPHRASE', true],
    ['PASSWORD_FILE', false], ['TOKEN_URL', false], ['GPG_KEY', false], ['PWD', false], ['TARGETARCH', false],
    ['BYPASS_CACHE', false], ['AUTHOR', false], ['KEYRING', false], ['VERSION', false],
  ];
  it.each(NAMES)('isSecretName(%j) = %j', (name, want) => expect(isSecretName(name)).toBe(want));
});
