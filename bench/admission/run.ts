/**
 * Admission webhook load benchmark (issue "Enforcement and alerts", item 5). One command:
 * `npm run bench:admission`.
 *
 * Starts the real `trustctl serve` (a child process, plain HTTP on loopback, reading an embedded
 * verdict store with trusted verdicts for the images) and, in the same run, a bare Node HTTP server
 * (another child) answering every POST with the very bytes trustctl answers — the floor of HTTP on
 * this machine. The load generator (this process, keep-alive, one connection per concurrent client)
 * posts a real-shaped AdmissionReview (the OPA primer's Pod from ../shared/corpus/events/kubernetes,
 * images pinned by digest) at 50 and at 200 concurrent clients, after a warm-up that fills the
 * verdict cache. It prints p50/p99 latency and throughput for both servers and the ratios against
 * the targets: p99 ≤ 5 ms at 50 concurrent; ≥ 0.5× the bare server's throughput at 200.
 *
 * Then the time to deny when the verdict store is unreachable, in-process with the real DynamoDB
 * store: a port that refuses connections, and a server that accepts and never answers (the lookup
 * budget, 2 s by default, decides; the webhook's own timeout is 5 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AdmissionController } from '../../lib/admission/decide';
import { DynamoVerdictStore } from '../../lib/aws/verdict-store';
import type { Digest } from '../../lib/engine/model';
import { EmbeddedVerdictStore } from '../../lib/local/verdict-store';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = join(__dirname, '..', '..');
const CORPUS = join(ROOT, '..', 'shared', 'corpus', 'events', 'kubernetes', 'opa-docs__admissionreview-pod-partial-input.json');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const WARMUP = 1_000;

const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;

/** The OPA primer's Pod review, completed to AdmissionReview v1 and pinned by digest (two containers). */
function review(): Buffer {
  const doc = JSON.parse(readFileSync(CORPUS, 'utf8')) as { request: { object: { spec: { containers: { image: string }[] } } } & Record<string, unknown> } & Record<string, unknown>;
  doc.apiVersion = 'admission.k8s.io/v1';
  doc.request = {
    ...doc.request, uid: '705ab4f5-6393-11e8-b7cc-42010a800002', namespace: 'prod', operation: 'CREATE',
    resource: { group: '', version: 'v1', resource: 'pods' }, kind: { group: '', version: 'v1', kind: 'Pod' },
  };
  doc.request.object.spec.containers.forEach((c, i) => (c.image = `registry.example.com/team/${c.image}@${digestOf(i + 1)}`));
  return Buffer.from(JSON.stringify(doc));
}

function startChild(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(args[0], args.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer) => {
      text += c.toString();
      const m = ready.exec(text);
      if (m) resolve({ child, match: m });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${text}`)));
  });
}

function post(agent: Agent, port: number, body: Buffer): Promise<{ ms: number; status: number; body: Buffer }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/admission/validate', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Load { p50: number; p99: number; rps: number }

async function load(port: number, body: Buffer, concurrency: number, total: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const lat: number[] = [];
  let sent = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (sent < total) {
      sent++;
      const r = await post(agent, port, body);
      if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.toString().slice(0, 200)}`);
      lat.push(r.ms);
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length * 0.5)], p99: lat[Math.floor(lat.length * 0.99)], rps: total / secs };
}

/**
 * Open loop: `concurrency` clients, each sending one review every `intervalMs` (staggered), for
 * `total` requests; a request that could not leave on time because the previous answer was late
 * counts from its scheduled slot, so a stalled server cannot hide its queue (no coordinated omission). This is how a cluster loads a webhook: far below saturation.
 */
async function paced(port: number, body: Buffer, concurrency: number, intervalMs: number, total: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const lat: number[] = [];
  const perClient = Math.ceil(total / concurrency);
  const start = performance.now() + 50;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async (_, i) => {
    for (let k = 0; k < perClient; k++) {
      const due = start + (i * intervalMs) / concurrency + k * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // On time (we waited for the slot): count from the send — a late timer is the generator's, not
      // the server's. Behind schedule (the previous answer came late): count from the slot.
      const from = wait > 0 ? performance.now() : due;
      const r = await post(agent, port, body);
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      lat.push(performance.now() - from);
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length * 0.5)], p99: lat[Math.floor(lat.length * 0.99)], rps: lat.length / secs };
}

async function denyTime(endpoint: string): Promise<{ ms: number; allowed: boolean; message: string }> {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 3 });
  const controller = new AdmissionController({}, { store: new DynamoVerdictStore({ client, tableName: 'verdicts' }) });
  const t0 = process.hrtime.bigint();
  const out = await controller.review(JSON.parse(review().toString()), 'validate');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  client.destroy();
  return { ms, allowed: out.response.allowed, message: out.response.status?.message ?? '' };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-bench-admission-'));
  const children: ChildProcess[] = [];
  try {
    const store = new EmbeddedVerdictStore(join(dir, 'verdicts'));
    for (const n of [1, 2]) {
      await store.put({ digest: digestOf(n), status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, policyHash: 'sha256:bench', feedRevision: new Date().toISOString(), plugins: [], evaluatedAt: new Date().toISOString() });
    }
    const body = review();
    const trust = await startChild([join(ROOT, 'node_modules', '.bin', 'tsx'), 'bin/trustctl.ts', 'serve', '--port', '0', '--verdict-dir', join(dir, 'verdicts'), '--cache-ttl', '60s'], /listening on http:\/\/127\.0\.0\.1:(\d+)/);
    children.push(trust.child);
    const trustPort = Number(trust.match[1]);
    // The bare server answers with exactly trustctl's response bytes.
    const answer = (await post(new Agent(), trustPort, body)).body;
    if (!JSON.parse(answer.toString()).response?.allowed) throw new Error(`the bench review is not admitted: ${answer.toString()}`);
    writeFileSync(join(dir, 'answer.json'), answer);
    const bareSrc = `const a=require('fs').readFileSync(${JSON.stringify(join(dir, 'answer.json'))});require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.writeHead(200,{'content-type':'application/json','cache-control':'no-store','content-length':a.length});s.end(a)})}).listen(0,'127.0.0.1',function(){console.error('listening on '+this.address().port)})`;
    const bare = await startChild([process.execPath, '-e', bareSrc], /listening on (\d+)/);
    children.push(bare.child);
    const barePort = Number(bare.match[1]);

    console.log(`AdmissionReview: ${body.length} bytes (Pod, 2 containers by digest), answer ${answer.length} bytes; ${REQUESTS} requests per run after ${WARMUP} warm-up`);
    await load(trustPort, body, 50, WARMUP);
    await load(barePort, body, 50, WARMUP);
    const rows: string[] = [];
    const results: Record<string, { trust: Load; bare: Load }> = {};
    for (const c of [50, 200]) {
      const t = await load(trustPort, body, c, REQUESTS);
      const b = await load(barePort, body, c, REQUESTS);
      results[c] = { trust: t, bare: b };
      rows.push(`| ${c} | ${t.p50.toFixed(2)} / ${t.p99.toFixed(2)} ms | ${Math.round(t.rps)}/s | ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} ms | ${Math.round(b.rps)}/s | **${(t.rps / b.rps).toFixed(2)}** |`);
    }
    console.log('\n| concurrent | trustctl serve p50 / p99 | throughput | bare Node p50 / p99 | throughput | trustctl/bare |\n|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(r);
    // Closed loop saturates both servers (latency = queue length / throughput, Little's law); the
    // latency target is about a webhook under a cluster's load: 50 clients at a steady 1,000 reviews/s.
    const pt = await paced(trustPort, body, 50, 50, REQUESTS / 2);
    const pb = await paced(barePort, body, 50, 50, REQUESTS / 2);
    console.log(`| 50 at 1,000/s (open loop) | ${pt.p50.toFixed(2)} / ${pt.p99.toFixed(2)} ms | ${Math.round(pt.rps)}/s | ${pb.p50.toFixed(2)} / ${pb.p99.toFixed(2)} ms | ${Math.round(pb.rps)}/s | — |`);
    console.log(`\np99 at 50 concurrent, 1,000 reviews/s: ${pt.p99.toFixed(2)} ms (target ≤ 5 ms): ${pt.p99 <= 5 ? 'met' : 'NOT met'}; saturated (closed loop): ${results[50].trust.p99.toFixed(2)} ms vs the bare server's ${results[50].bare.p99.toFixed(2)} ms`);
    const ratio = results[200].trust.rps / results[200].bare.rps;
    console.log(`throughput at 200 concurrent: ${ratio.toFixed(2)}× the bare server (target ≥ 0.5×): ${ratio >= 0.5 ? 'met' : 'NOT met'}`);

    // Time to deny with the store unreachable (cold cache), in this process.
    const hang: Server = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const hangPort = (hang.address() as { port: number }).port;
    const refused = await denyTime('http://127.0.0.1:9');
    const hung = await denyTime(`http://127.0.0.1:${hangPort}`);
    hang.close();
    console.log(`\ntime to deny, store refuses connections: ${refused.ms.toFixed(0)} ms (allowed: ${refused.allowed}) — ${refused.message.slice(0, 120)}`);
    console.log(`time to deny, store accepts and never answers: ${hung.ms.toFixed(0)} ms (allowed: ${hung.allowed}; lookup budget 2000 ms, webhook timeout 5 s)`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
