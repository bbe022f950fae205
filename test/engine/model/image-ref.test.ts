import { InvalidReferenceError } from '../../../lib/engine/errors';
import { formatImageRef, parseImageRef } from '../../../lib/engine/model';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef', () => {
  it.each([
    ['docker hub short name', 'alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['docker hub user repo with tag', 'grafana/grafana:10.2.0', { registry: 'docker.io', repository: 'grafana/grafana', tag: '10.2.0' }],
    ['ECR with tag', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/svc:v1', { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'team/svc', tag: 'v1' }],
    ['loopback registry with port and digest', `127.0.0.1:5000/app@${D}`, { registry: '127.0.0.1:5000', repository: 'app', digest: D }],
    ['localhost without dot', 'localhost/app:dev', { registry: 'localhost', repository: 'app', tag: 'dev' }],
    ['tag and digest together', `ghcr.io/o/r:1.0@${D}`, { registry: 'ghcr.io', repository: 'o/r', tag: '1.0', digest: D }],
    ['separators in path components', 'quay.io/a_b/c__d/e-f.g:x', { registry: 'quay.io', repository: 'a_b/c__d/e-f.g', tag: 'x' }],
    ['IPv6 registry', '[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1' }],
  ])('%s', (_name, input, expected) => {
    expect(parseImageRef(input)).toEqual(expected);
  });

  it.each([
    ['uppercase repository', 'docker.io/Library/alpine'],
    ['path traversal in repository (case 23)', '127.0.0.1:5000/../etc/passwd:1'],
    ['tag with slash-free traversal characters', 'reg.io/app:../../x'],
    ['tag too long', `reg.io/app:${'a'.repeat(129)}`],
    ['digest not hex', 'reg.io/app@sha256:../../../../etc/passwd'],
    ['digest wrong length', `reg.io/app@sha256:${'a'.repeat(63)}`],
    ['unknown digest algorithm', `reg.io/app@md5:${'a'.repeat(32)}`],
    ['empty', ''],
    ['query string smuggled in repository', 'reg.io/app?x=1:tag'],
    ['whitespace inside', 'reg.io/a pp:1'],
  ])('rejects %s', (_name, input) => {
    expect(() => parseImageRef(input)).toThrow(InvalidReferenceError);
  });

  it('round-trips through formatImageRef', () => {
    expect(formatImageRef(parseImageRef(`127.0.0.1:5000/a/b:t@${D}`))).toBe(`127.0.0.1:5000/a/b:t@${D}`);
  });
});
