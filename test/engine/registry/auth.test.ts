import { type Challenge, parseWwwAuthenticate } from '../../../lib/engine/registry/auth';

describe('parseWwwAuthenticate (RFC 7235 §4.1)', () => {
  const cases: { name: string; header: string; want: Challenge[] }[] = [
    {
      name: 'distribution Bearer with a scope holding commas',
      header: 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push"',
      want: [{ scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:team/app:pull,push' } }],
    },
    {
      name: 'ECR Basic',
      header: 'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"',
      want: [{ scheme: 'basic', params: { realm: 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/', service: 'ecr.amazonaws.com' } }],
    },
    {
      name: 'two challenges in one header, whitespace around "="',
      header: 'Basic realm = "a, b" , Bearer realm="https://t/x",error="invalid_token"',
      want: [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'https://t/x', error: 'invalid_token' } },
      ],
    },
    {
      name: 'RFC 7235 example with escapes and a token value',
      header: 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      want: [
        { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        { scheme: 'basic', params: { realm: 'simple' } },
      ],
    },
    { name: 'scheme case-insensitive, param names lowercased', header: 'BEARER Realm="r",SERVICE=s', want: [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }] },
    { name: 'token68', header: 'Negotiate abc123==', want: [{ scheme: 'negotiate', params: {}, token68: 'abc123==' }] },
    { name: 'bare scheme followed by another', header: 'Basic, Bearer realm="r"', want: [{ scheme: 'basic', params: {} }, { scheme: 'bearer', params: { realm: 'r' } }] },
    { name: 'empty', header: '', want: [] },
    { name: 'unterminated quote ends at the end', header: 'Bearer realm="https://x/t', want: [{ scheme: 'bearer', params: { realm: 'https://x/t' } }] },
  ];
  it.each(cases)('$name', ({ header, want }) => expect(parseWwwAuthenticate(header)).toEqual(want));
});
