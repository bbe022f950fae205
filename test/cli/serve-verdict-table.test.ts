/**
 * `trustctl serve --verdict-table` (lib/cli/commands/serve.ts): the admission webhook reading the
 * pipeline's DynamoDB verdict table — run in-process against DynamoDB Local, with the AWS SDK's
 * default credential chain fed by the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_REGION, as IRSA and EKS Pod Identity feed it in a cluster), answering real AdmissionReviews.
 * A table that cannot be read denies with a reason (fail closed); a cached allow survives an outage
 * within --cache-ttl.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { AdmissionConfigError } from '../../lib/admission/errors';
import { DynamoVerdictStore, tableDefinition } from '../../lib/aws/verdict-store';
import { registerServe } from '../../lib/cli/commands/serve';
import type { CliContext } from '../../lib/cli/main';
import { digestOf, pinned, podReview, verdict } from '../admission/fixtures';
import { captureIO, trustctl } from '../helpers/cli';
import { httpText, waitForOutput } from '../helpers/http-text';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';

const TABLE = 'trustctl-verdicts';
/** The variables the SDK's default chain reads here; saved and restored around the file. */
const AWS_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
const saved = new Map(AWS_VARS.map((k) => [k, process.env[k]]));

let dir: string;

/** The environment of a pod with credentials: only the chain's env source can answer (no profile files, no IMDS). */
function podEnv(vars: Record<string, string>): void {
  for (const k of AWS_VARS) delete process.env[k];
  Object.assign(process.env, {
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...vars,
  });
}
const WITH_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };

const db = useDynamoDbLocal({ tables: [tableDefinition(TABLE)] });
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trustctl-serve-table-'));
  const store = new DynamoVerdictStore({ client: db.client, tableName: TABLE });
  const fresh = new Date(Date.now() - 3600_000).toISOString();
  await store.put(verdict(digestOf('app'), 'trusted', fresh));
  await store.put(verdict(digestOf('bad'), 'quarantined', fresh, [{ rule: 'no-critical', message: 'openssl: CVE-2024-0001 is critical', findings: ['CVE-2024-0001'] }]));
});

afterAll(() => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => podEnv(WITH_CREDENTIALS));

/** A program with only `serve`, stopped by `stop`, and what it printed. */
function program(stop: AbortSignal): { program: Command; ctx: CliContext; err: () => string } {
  const { io, err } = captureIO();
  const ctx: CliContext = { io, exitCode: -1 };
  const p = new Command('trustctl').exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerServe(p, ctx, { stop });
  return { program: p, ctx, err };
}

const request = httpText;
const waitFor = (what: () => string, re: RegExp): Promise<RegExpExecArray> => waitForOutput(what, re, 800);

/** The AdmissionReview response for a Pod running `image` in every container section of `namespace`. */
async function admit(url: string, image: string, namespace = 'prod'): Promise<{ allowed: boolean; status?: { message: string }; warnings?: string[] }> {
  const res = await request(`${url}/admission/validate`, { method: 'POST', body: JSON.stringify(podReview({ initContainers: image, containers: image, ephemeralContainers: image }, { namespace })) });
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { response: { allowed: boolean; status?: { message: string }; warnings?: string[] } }).response;
}

/** Runs `serve` with `args`, hands its URL to `body`, stops it, and returns what it printed. */
async function serving(args: string[], body: (url: string, err: () => string) => Promise<void>): Promise<string> {
  const stop = new AbortController();
  const p = program(stop.signal);
  const run = p.program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--verdict-table', TABLE, ...args]);
  const started = Promise.race([waitFor(p.err, /listening on (http:\/\/127\.0\.0\.1:\d+)/), run.then(() => Promise.reject(new Error(`serve ended: ${p.err()}`)))]);
  const [, url] = await started;
  try {
    await body(url, p.err);
  } finally {
    stop.abort();
  }
  await run;
  expect(p.ctx.exitCode).toBe(0);
  return p.err();
}

/** A TCP port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** An HTTP server on 127.0.0.1 answering every request with `handler`; closed by the returned function. */
async function fakeEndpoint(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`,
    close: () => new Promise((r) => {
      s.closeAllConnections();
      s.close(() => r());
    }),
  };
}

describe('trustctl serve --verdict-table', () => {
  it('admits the trusted image, denies the quarantined and the unknown one, serves /verdicts from the table', async () => {
    const err = await serving(['--dynamodb-endpoint', db.server.endpoint], async (url) => {
      expect(await admit(url, pinned('app'))).toMatchObject({ allowed: true });
      const bad = await admit(url, pinned('bad'));
      expect(bad.allowed).toBe(false);
      expect(bad.status?.message).toContain('CVE-2024-0001');
      const unknown = await admit(url, pinned('never-scanned'));
      expect(unknown.allowed).toBe(false);
      expect(unknown.status?.message).toMatch(/no verdict/i);
      const api = await request(`${url}/verdicts/${digestOf('app')}`);
      expect([api.status, (JSON.parse(api.body) as { status: string }).status]).toEqual([200, 'trusted']);
      expect((await request(`${url}/verdicts/${digestOf('never-scanned')}`)).status).toBe(404);
    });
    expect(err).toContain(`verdicts from DynamoDB table ${TABLE} in us-east-1 at ${db.server.endpoint}`);
    expect(err).not.toContain('warning');
  });

  it('--region wins over AWS_REGION (DynamoDB Local keeps one database per region: the other region has no table)', async () => {
    const err = await serving(['--dynamodb-endpoint', db.server.endpoint, '--region', 'eu-west-1'], async (url) => {
      const r = await admit(url, pinned('app'));
      expect(r.allowed).toBe(false);
      expect(r.status?.message).toMatch(/verdict store unreachable: VERDICT_STORE_ERROR: .*ResourceNotFoundException/);
    });
    expect(err).toContain('in eu-west-1');
    expect(err).toMatch(/warning: the verdict table trustctl-verdicts cannot be read .*ResourceNotFoundException.*every image of an enforce namespace is denied/);
  });

  it('a miss is cached only briefly: a verdict written after a deny is seen on the next request past --miss-cache-ttl, within --cache-ttl', async () => {
    const client = db.server.client();
    const store = new DynamoVerdictStore({ client, tableName: TABLE });
    try {
      await serving(['--dynamodb-endpoint', db.server.endpoint, '--cache-ttl', '10m', '--miss-cache-ttl', '0s'], async (url) => {
        expect((await admit(url, pinned('late'))).allowed).toBe(false);
        await store.put(verdict(digestOf('late'), 'trusted', new Date(Date.now() - 60_000).toISOString()));
        expect((await admit(url, pinned('late'))).allowed).toBe(true);
      });
    } finally {
      client.destroy();
    }
  });

  it('--record-sightings records each admitted digest as seen (the nightly live window), a denied one not; without it nothing is written', async () => {
    const client = db.server.client();
    const store = new DynamoVerdictStore({ client, tableName: TABLE });
    const since = new Date(Date.now() - 60_000);
    try {
      await serving(['--dynamodb-endpoint', db.server.endpoint], async (url) => {
        expect((await admit(url, pinned('app'))).allowed).toBe(true);
      });
      expect([...(await store.seenSince(since)).keys()]).toEqual([]);
      const err = await serving(['--dynamodb-endpoint', db.server.endpoint, '--record-sightings', '--cache-ttl', '0s'], async (url) => {
        for (let i = 0; i < 3; i++) expect((await admit(url, pinned('app'))).allowed).toBe(true);
        expect((await admit(url, pinned('never-scanned'))).allowed).toBe(false);
        // Fire-and-forget: the write lands after the answer.
        const deadline = Date.now() + 10_000;
        while (!(await store.seenSince(since)).has(digestOf('app')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      });
      expect(err).toContain('sightings recorded');
      const seen = await store.seenSince(since);
      expect([...seen.keys()]).toEqual([digestOf('app')]);
    } finally {
      client.destroy();
    }
  });

  it('fails closed when the table cannot be read, with the reason, in enforce namespaces', async () => {
    // Each case: how the table is unreachable, and what the deny must say.
    const hanging = await fakeEndpoint(() => undefined); // accepts, never answers
    const throttling = await fakeEndpoint((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' }));
    });
    const cases: { name: string; endpoint: string; env?: Record<string, string>; reason: RegExp }[] = [
      { name: 'nothing listens on the endpoint', endpoint: `http://127.0.0.1:${await closedPort()}`, reason: /verdict store unreachable: (VERDICT_STORE_ERROR: .*ECONNREFUSED|LOOKUP_TIMEOUT)/ },
      { name: 'the endpoint never answers (bounded by --lookup-timeout)', endpoint: hanging.url, reason: /verdict store unreachable: LOOKUP_TIMEOUT: .*500 ?ms/ },
      { name: 'DynamoDB throttles every read', endpoint: throttling.url, reason: /verdict store unreachable: (VERDICT_STORE_ERROR: .*ThrottlingException|LOOKUP_TIMEOUT)/ },
      { name: 'no AWS credentials in the default chain', endpoint: db.server.endpoint, env: { AWS_REGION: 'us-east-1' }, reason: /verdict store unreachable: VERDICT_STORE_ERROR: .*[Cc]redential/ },
    ];
    try {
      for (const c of cases) {
        if (c.env) podEnv(c.env);
        else podEnv(WITH_CREDENTIALS);
        const err = await serving(['--dynamodb-endpoint', c.endpoint, '--lookup-timeout', '500ms', '--namespace-mode', 'dev=warn'], async (url) => {
          const r = await admit(url, pinned('app'));
          expect([c.name, r.allowed]).toEqual([c.name, false]);
          expect([c.name, r.status?.message]).toEqual([c.name, expect.stringMatching(c.reason)]);
          // warn: admitted, with the reason as a warning (capped at 256 characters).
          const w = await admit(url, pinned('app'), 'dev');
          expect([c.name, w.allowed, w.warnings?.[0]]).toEqual([c.name, true, expect.stringMatching(/would deny .*verdict store unreachable/)]);
          // The verdict API does not answer "no verdict" either.
          expect([c.name, (await request(`${url}/verdicts/${digestOf('app')}`)).status]).toEqual([c.name, 503]);
        });
        expect([c.name, err]).toEqual([c.name, expect.stringContaining('warning: the verdict table trustctl-verdicts cannot be read')]);
      }
    } finally {
      await hanging.close();
      await throttling.close();
    }
  });

  it('a cached allow survives DynamoDB going away within --cache-ttl; an uncached digest is then denied (last: stops DynamoDB Local)', async () => {
    await serving(['--dynamodb-endpoint', db.server.endpoint, '--cache-ttl', '10m', '--lookup-timeout', '500ms'], async (url) => {
      expect((await admit(url, pinned('app'))).allowed).toBe(true);
      await db.server.stop();
      expect((await admit(url, pinned('app'))).allowed).toBe(true);
      const other = await admit(url, pinned('bad'));
      expect(other.allowed).toBe(false);
      expect(other.status?.message).toMatch(/verdict store unreachable/);
    });
  });
});

describe('trustctl serve --verdict-table: usage', () => {
  it.each([
    { name: '--verdict-dir with --verdict-table', args: ['--verdict-dir', '/tmp/x', '--verdict-table', TABLE], message: /option '--verdict-table <name>' cannot be used with option '--verdict-dir <dir>'/ },
    { name: '--region without --verdict-table', args: ['--region', 'eu-west-1'], message: /--region, --dynamodb-endpoint and --record-sightings apply to --verdict-table only/ },
    { name: '--dynamodb-endpoint without --verdict-table', args: ['--dynamodb-endpoint', 'http://127.0.0.1:8000'], message: /--region, --dynamodb-endpoint and --record-sightings apply to --verdict-table only/ },
    { name: '--record-sightings without --verdict-table', args: ['--record-sightings'], message: /--region, --dynamodb-endpoint and --record-sightings apply to --verdict-table only/ },
    { name: 'a --dynamodb-endpoint that is no URL', args: ['--verdict-table', TABLE, '--dynamodb-endpoint', 'localhost:8000'], message: /expected an http\(s\) URL/ },
  ])('refuses $name (exit 2)', async ({ args, message }) => {
    const r = await trustctl('serve', '--port', '0', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('refuses to start with no AWS region in the default chain nor --region', async () => {
    podEnv({ AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const p = program(AbortSignal.abort());
    await expect(p.program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--verdict-table', TABLE])).rejects.toThrow(AdmissionConfigError);
    await expect(program(AbortSignal.abort()).program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--verdict-table', TABLE])).rejects.toThrow(/no AWS region/);
  });
});
