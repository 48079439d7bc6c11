// `m2 serve --replicas 2` (tiny preset, TP 1 per replica, real router, coordinator and worker
// processes): a multi-turn session's turns land on one replica and later turns report cached
// prompt tokens; killing that replica's workers sends the session and every new request to the
// other replica without an error; with no replica left, the router's /ready and gRPC health say
// not ready while /health still answers.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { makeModel } from '../../worker/model/make-model.ts';
import { childPids, killTagged, newTag } from './tp-harness.ts';
import { scrape, total } from './metrics-scrape.ts';
import { startServe, type ServeProcess } from '../e2e/serve-harness.ts';

const tag = newTag();
type HealthClient = grpc.Client & {
  check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
};
const healthPackage = grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, { enums: String })) as unknown as {
  grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
};
const SYSTEM = 'You are a careful clinical assistant. '.repeat(12) + 'Answer briefly and cite the guideline you use.';

let serve: ServeProcess;

interface ReadyReport {
  status: string;
  replicas: { address: string; ready: boolean }[];
}

async function readyReport(): Promise<{ code: number; body: ReadyReport }> {
  const res = await fetch(`${serve.url}/ready`);
  return { code: res.status, body: (await res.json()) as ReadyReport };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return performance.now() - started;
}

before(async () => {
  const model = makeModel({ preset: 'tiny' });
  serve = await startServe(['--model', model, '--replicas', '2', '--tp', '1', '--port', '0', '--grpc-port', '0', '--host', '127.0.0.1', '--kv-cache-memory', '16MiB'], tag, 180_000);
  await until('both replicas ready', async () => (await readyReport()).body.replicas.every((r) => r.ready), 30_000);
});

after(() => {
  serve?.child.kill('SIGKILL');
  killTagged(tag);
});

interface ChatAnswer {
  status: number;
  cachedTokens: number;
  error: string;
}

async function chat(messages: { role: string; content: string }[], session: { header?: string; body?: string } = {}): Promise<ChatAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (session.header) headers['x-session-id'] = session.header;
  const body = { messages, max_tokens: 4, temperature: 0, ...(session.body ? { session_id: session.body } : {}) };
  const res = await fetch(`${serve.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await res.json()) as { usage?: { prompt_tokens_details?: { cached_tokens: number } } };
  return { status: res.status, cachedTokens: json.usage?.prompt_tokens_details?.cached_tokens ?? 0, error: res.status === 200 ? '' : JSON.stringify(json) };
}

/** The replica whose completed-request count grew between two scrapes (exactly one must). */
async function servedBy(call: () => Promise<ChatAnswer>): Promise<{ replica: string; answer: ChatAnswer }> {
  const metrics = `${serve.url}/metrics`;
  const before = await scrape(metrics);
  const answer = await call();
  const after = await scrape(metrics);
  const grew = [...new Set(after.samples.map((s) => s.labels.replica).filter((r) => r !== undefined))].filter(
    (replica) => total(after, 'vllm:e2e_request_latency_seconds_count', { replica }) > total(before, 'vllm:e2e_request_latency_seconds_count', { replica }),
  );
  assert.equal(grew.length, 1, `one replica served the request (grew: ${grew.join(', ')})`);
  return { replica: grew[0], answer };
}

/** The pid listening on `port` among `pids` (matched through socket inodes in /proc). */
function listenerOf(port: number, pids: number[]): number | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
    }
  }
  return pids.find((pid) =>
    readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
      } catch {
        return false;
      }
    }),
  );
}

function killWorkersOf(replica: string): void {
  const coordinators = childPids(serve.child.pid!);
  const coordinator = listenerOf(Number(replica.slice(replica.lastIndexOf(':') + 1)), coordinators);
  assert.ok(coordinator !== undefined, `the coordinator process of ${replica} among ${coordinators.join(', ')}`);
  const workers = childPids(coordinator);
  assert.equal(workers.length, 1, 'TP 1: one worker process');
  for (const pid of workers) process.kill(pid, 'SIGKILL');
}

const conversation: { role: string; content: string }[] = [{ role: 'system', content: SYSTEM }];
let sessionReplica = '';

function nextTurn(question: string): { role: string; content: string }[] {
  if (conversation.length > 1) conversation.push({ role: 'assistant', content: 'Noted; continuing.' });
  conversation.push({ role: 'user', content: question });
  return [...conversation];
}

test('a multi-turn session stays on one replica (header or body session id) and reports cached tokens', async () => {
  const turns = [
    { question: 'A 54-year-old has chest pain on exertion. First test?', session: { header: 'visit-1' } },
    { question: 'The ECG is normal. What next?', session: { body: 'visit-1' } },
    { question: 'Troponin is negative too. Discharge?', session: { header: 'visit-1' } },
  ];
  const cached: number[] = [];
  for (const { question, session } of turns) {
    const { replica, answer } = await servedBy(() => chat(nextTurn(question), session));
    assert.equal(answer.status, 200, answer.error);
    sessionReplica ||= replica;
    assert.equal(replica, sessionReplica, 'every turn on the replica of the first');
    cached.push(answer.cachedTokens);
  }
  assert.ok(cached[1] > 0 && cached[2] > cached[1], `later turns reuse the cached prefix (cached tokens per turn: ${cached.join(', ')})`);
  const metrics = await scrape(`${serve.url}/metrics`);
  assert.ok(total(metrics, 'm2:routing_decisions_total', { replica: sessionReplica, reason: 'session' }) >= 2);
});

test("killing the session replica's workers: the session and new requests go to the other replica without errors", async () => {
  assert.ok(sessionReplica, 'the session test ran first');
  killWorkersOf(sessionReplica);
  const served: string[] = [];
  // At once, before anything noticed the dead rank, and then a few more.
  const first = await servedBy(() => chat(nextTurn('And if pain recurs at rest?'), { header: 'visit-1' }));
  assert.equal(first.answer.status, 200, first.answer.error);
  served.push(first.replica);
  for (let i = 0; i < 4; i++) {
    const { replica, answer } = await servedBy(() => chat([{ role: 'user', content: `New patient ${i}: fever and cough.` }]));
    assert.equal(answer.status, 200, answer.error);
    served.push(replica);
  }
  assert.ok(served.every((r) => r !== sessionReplica), `no request served by the dead replica (served by: ${served.join(', ')})`);
  const waited = await until('the router marks the replica not ready', async () => {
    const report = await readyReport();
    return report.code === 200 && report.body.replicas.some((r) => r.address === sessionReplica && !r.ready);
  }, 15_000);
  console.log(`router saw the dead replica as not ready after ${waited.toFixed(0)} ms`);
});

test('no replica ready: /ready is 503 and gRPC health NOT_SERVING, /health still 200, requests get 503', async () => {
  const { body } = await readyReport();
  const other = body.replicas.find((r) => r.address !== sessionReplica);
  assert.ok(other);
  killWorkersOf(other.address);
  const waited = await until('/ready turns 503', async () => (await readyReport()).code === 503, 15_000);
  console.log(`/ready turned 503 ${waited.toFixed(0)} ms after the last replica's workers died`);
  assert.equal((await readyReport()).body.status, 'no ready replica');
  assert.equal((await fetch(`${serve.url}/health`)).status, 200);
  const refused = await chat([{ role: 'user', content: 'Anyone there?' }]);
  assert.equal(refused.status, 503, refused.error);
  const health = new healthPackage.grpc.health.v1.Health(serve.grpcAddress, grpc.credentials.createInsecure());
  try {
    await until('gRPC health NOT_SERVING', async () => {
      const status = await new Promise<string>((resolve, reject) =>
        health.check({ service: '' }, { deadline: Date.now() + 2000 }, (err, r) => (err || !r ? reject(err) : resolve(r.status))),
      );
      return status === 'NOT_SERVING';
    }, 5000);
  } finally {
    health.close();
  }
});
