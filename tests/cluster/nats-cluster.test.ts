// Real processes around a real nats-server: `m2 router --nats` started first with no coordinator
// at all, then two `m2 coordinator --nats` (tiny preset, TP 1) that it discovers; a SIGKILLed
// coordinator is dropped after missed heartbeats while requests keep succeeding on the other; a
// coordinator started while NATS is down serves anyway and joins once NATS is back (the restart
// reconnects router and coordinators); SIGTERM's "leaving" removes a coordinator at once; and
// malformed messages on the subject are logged, not fatal.
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { after, before, test } from 'node:test';
import { spawnM2, stopChildren, type M2Child } from '../../coordinator/group/child-process.ts';
import { heartbeatSubject } from '../../coordinator/membership/messages.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { scrape, total } from './metrics-scrape.ts';
import { NatsServer } from './nats-harness.ts';
import { killTagged, newTag } from './tp-harness.ts';

const tag = newTag();
const nats = new NatsServer();
const children: M2Child[] = [];
let model = '';
let router: M2Child;
let url = '';
/** Coordinator processes by their gRPC address. */
const coordinators = new Map<string, M2Child>();

async function startCoordinator(): Promise<string> {
  const c = await spawnM2(
    ['coordinator', '--model', model, '--tp', '1', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--kv-cache-memory', '16MiB', '--threads', '1', '--nats', nats.url],
    { name: 'coordinator', timeoutMs: 60_000, env: { M2_TEST_TAG: tag } },
  );
  children.push(c);
  coordinators.set(c.ready.grpc!, c);
  return c.ready.grpc!;
}

interface ReadyReport {
  code: number;
  replicas: { address: string; ready: boolean }[];
}

async function readyReport(): Promise<ReadyReport> {
  const res = await fetch(`${url}/ready`);
  const body = (await res.json()) as { replicas: { address: string; ready: boolean }[] };
  return { code: res.status, replicas: body.replicas };
}

const readyAddresses = async (): Promise<string[]> => (await readyReport()).replicas.filter((r) => r.ready).map((r) => r.address).sort();
const listedAddresses = async (): Promise<string[]> => (await readyReport()).replicas.map((r) => r.address).sort();

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - started;
}

/** A short greedy completion; resolves with the replica that served it (from the router's metrics). */
async function complete(prompt: string, sessionId?: string): Promise<string> {
  const before = await scrape(`${url}/metrics`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (sessionId !== undefined) headers['x-session-id'] = sessionId;
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers, body: JSON.stringify({ prompt, max_tokens: 2, temperature: 0 }) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const after = await scrape(`${url}/metrics`);
  const replicas = [...new Set(after.samples.map((s) => s.labels.replica).filter((r) => r !== undefined))];
  const grew = replicas.filter((replica) => total(after, 'vllm:e2e_request_latency_seconds_count', { replica }) > total(before, 'vllm:e2e_request_latency_seconds_count', { replica }));
  assert.equal(grew.length, 1, `one replica served the request (grew: ${grew.join(', ')})`);
  return grew[0];
}

before(async () => {
  model = makeModel({ preset: 'tiny' });
  await nats.start();
  router = await spawnM2(['router', '--model', model, '--nats', nats.url, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0'], {
    name: 'router',
    timeoutMs: 30_000,
    env: { M2_TEST_TAG: tag, M2_COORDINATORS: '' },
  });
  children.push(router);
  url = router.ready.http!;
});

after(async () => {
  await stopChildren(children, 1000);
  killTagged(tag);
  await nats.dispose();
});

test('router first, with only --nats: not ready; two coordinators join; sessions stick and other requests spread', async () => {
  const empty = await readyReport();
  assert.equal(empty.code, 503);
  assert.deepEqual(empty.replicas, []);
  const refused = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi', max_tokens: 1 }) });
  assert.equal(refused.status, 503);

  const addresses = (await Promise.all([startCoordinator(), startCoordinator()])).sort();
  const ms = await until('both coordinators discovered and ready', async () => (await readyAddresses()).join() === addresses.join(), 15_000);
  console.log(`router routed to both coordinators ${ms.toFixed(0)} ms after their ready lines`);

  const sessionReplica = await complete('Patient one reports a headache since Monday.', 'visit-a');
  for (const turn of ['It is worse in the morning.', 'Ibuprofen did not help.']) {
    assert.equal(await complete(`Patient one reports a headache since Monday. ${turn}`, 'visit-a'), sessionReplica, 'a session sticks to its replica');
  }
  const spread = new Set<string>();
  for (const prompt of ['Fever of 39 C for two days.', 'A rash on both arms.', 'Shortness of breath climbing stairs.', 'Knee pain after running.']) spread.add(await complete(prompt));
  assert.deepEqual([...spread].sort(), addresses, 'unrelated requests without a session use both replicas');
});

test('SIGKILL (no leaving message): dropped after missed heartbeats, requests keep succeeding on the other', async () => {
  const [victim, survivor] = [...coordinators.keys()];
  const killedAt = performance.now();
  coordinators.get(victim)!.process.kill('SIGKILL');
  coordinators.delete(victim);
  const served: string[] = [];
  while (!(await listedAddresses()).every((a) => a !== victim)) {
    served.push(await complete(`Question ${served.length}: is this rash contagious?`));
    if (performance.now() - killedAt > 20_000) assert.fail('the killed coordinator was never dropped');
  }
  const droppedMs = performance.now() - killedAt;
  console.log(`killed coordinator dropped after ${droppedMs.toFixed(0)} ms; ${served.length} requests served meanwhile`);
  // 3.5 heartbeat periods after the last one, which came up to a period before the kill.
  assert.ok(droppedMs > 2000, `dropped after missed heartbeats, not before (${droppedMs.toFixed(0)} ms)`);
  assert.ok(served.every((r) => r === survivor), `every request on the survivor (${served.join(', ')})`);
  assert.deepEqual(await readyAddresses(), [survivor]);
});

test('NATS restart: a coordinator started while it is down serves anyway and joins when it is back; the others reconnect', async () => {
  const [survivor] = [...coordinators.keys()];
  await nats.stop();
  const late = await startCoordinator();
  // Serving does not wait for NATS: its own health port says ready.
  const health = await fetch(`${coordinators.get(late)!.ready.http}/ready`);
  assert.equal(health.status, 200);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await listedAddresses(), [survivor], 'nobody expires while the router cannot hear heartbeats');
  assert.equal(await complete('Still serving without NATS?'), survivor);
  await nats.start();
  const ms = await until('the late coordinator joins', async () => (await readyAddresses()).length === 2, 20_000);
  console.log(`late coordinator routed to ${ms.toFixed(0)} ms after nats-server came back`);
  // The survivor's heartbeats resumed too: it outlives 3 missed heartbeats after the restart.
  await new Promise((r) => setTimeout(r, 4500));
  assert.deepEqual(await readyAddresses(), [late, survivor].sort());
});

test('malformed messages on the heartbeat subject are logged and ignored', async () => {
  const nc = await connect({ servers: nats.url });
  const subject = heartbeatSubject(router.ready.model!);
  nc.publish(subject, 'this is not json');
  nc.publish(subject, JSON.stringify({ kind: 'heartbeat', address: '127.0.0.1:1' }));
  await nc.flush();
  await nc.close();
  await until('logged', async () => router.stderrTail().includes('ignoring a malformed message'), 5000);
  assert.equal(router.process.exitCode, null);
  assert.equal((await listedAddresses()).length, 2);
});

test('SIGTERM: the leaving message removes the coordinator at once; requests keep succeeding', async () => {
  const [leaving, staying] = [...coordinators.keys()];
  const c = coordinators.get(leaving)!;
  const termAt = performance.now();
  c.process.kill('SIGTERM');
  const ms = await until('removed', async () => !(await listedAddresses()).includes(leaving), 5000);
  console.log(`drained coordinator removed ${ms.toFixed(0)} ms after SIGTERM`);
  assert.ok(performance.now() - termAt < 2500, 'sooner than 3 missed heartbeats');
  assert.equal(await c.exited, '0');
  assert.equal(await complete('After the drain, who answers?'), staying);
});
