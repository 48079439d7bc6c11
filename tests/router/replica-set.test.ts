// Replica choice with several fake coordinators: only ready replicas get traffic, the least loaded
// wins (ties alternate), a replica that is unreachable before anything streamed is skipped for
// another, the choice sees the session id and prompt (the seam for affinity and prefix routing),
// and a replica's load drops as soon as this router's requests end, not a Stats poll later.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoordinatorBackend, DEFAULT_BACKEND_TIMEOUTS } from '../../router/coordinator-backend.ts';
import { LeastLoadPolicy, type ReplicaPolicy, type RoutingRequest } from '../../router/replica-set.ts';
import { startRouter } from '../../router/router.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { MODEL_DIR, post, startStack, tinyTokenizer, waitFor, type Stack } from './harness.ts';

let stack: Stack;
const messages = [{ role: 'user', content: 'hi' }];

before(async () => {
  stack = await startStack({ replicas: 2 });
});
after(async () => {
  await stack.close();
});

const [a, b] = [() => stack.fakes[0]!, () => stack.fakes[1]!];
const chat = () => post(`${stack.url}/v1/chat/completions`, { messages });
const settle = (fake: FakeCoordinator) => {
  const seen = fake.statsCalls;
  return waitFor(() => fake.statsCalls >= seen + 2, 3000, 'two Stats polls');
};

test('the least loaded ready replica gets the request; equal load alternates', async () => {
  a().stats = { ...a().stats, numRunning: 5, numWaiting: 2 };
  await settle(a());
  for (let i = 0; i < 3; i++) assert.equal((await chat()).status, 200);
  assert.equal(a().requests.length, 0);
  assert.equal(b().requests.length, 3);
  a().stats = { ...a().stats, numRunning: 0, numWaiting: 0 };
  await settle(a());
  await chat();
  await chat();
  assert.equal(a().requests.length + b().requests.length, 5);
  assert.ok(a().requests.length >= 1, 'ties go to the replica picked longest ago');
});

test('a replica that is not ready gets no traffic', async () => {
  b().stats = { ...b().stats, ready: false };
  await settle(b());
  const before = b().requests.length;
  for (let i = 0; i < 3; i++) assert.equal((await chat()).status, 200);
  assert.equal(b().requests.length, before);
  b().stats = { ...b().stats, ready: true };
  await settle(b());
});

test('a replica that fails with UNAVAILABLE before streaming is skipped for the other', async () => {
  a().mode = 'unavailable';
  b().stats = { ...b().stats, numRunning: 3 }; // so that A, the broken one, is tried first
  await settle(b());
  const triedA = a().requests.length;
  try {
    for (let i = 0; i < 4; i++) {
      const res = await chat();
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    assert.ok(a().requests.length > triedA, 'A was tried and failed over');
  } finally {
    a().mode = 'script';
    b().stats = { ...b().stats, numRunning: 0 };
  }
  b().mode = 'unavailable';
  a().mode = 'unavailable';
  try {
    const res = await chat();
    assert.equal(res.status, 503, 'every replica failed');
  } finally {
    a().mode = 'script';
    b().mode = 'script';
  }
});

test('a policy sees the session id and prompt ids of each request', async () => {
  const fake = await FakeCoordinator.start(tinyTokenizer());
  const seen: RoutingRequest[] = [];
  const recording: ReplicaPolicy = {
    choose: (ready: readonly CoordinatorBackend[]) => new LeastLoadPolicy().choose(ready),
    routed: (_backend, request) => seen.push(request),
  };
  const router = await startRouter({
    modelDir: MODEL_DIR, coordinators: [fake.address], host: '127.0.0.1', httpPort: 0, grpcPort: 0, maxBodyBytes: 1 << 20, policy: recording,
  });
  try {
    await post(`${router.httpUrl}/v1/chat/completions`, { messages }, { 'x-session-id': 'conv-7' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.sessionId, 'conv-7');
    assert.deepEqual(seen[0]!.promptTokenIds, fake.lastRequest.promptTokenIds);
  } finally {
    await router.shutdown(1000);
    fake.close();
  }
});

/** A backend polling a fake that reports `running` requests while this router has `ours` open. */
async function backendAfterPoll(running: number, ours: number, check: (backend: CoordinatorBackend) => void): Promise<void> {
  const fake = await FakeCoordinator.start(tinyTokenizer());
  // Polls far apart: every change after the first comes from this router's own count.
  const backend = new CoordinatorBackend(fake.address, { ...DEFAULT_BACKEND_TIMEOUTS, statsIntervalMs: 60_000 });
  try {
    fake.stats = { ...fake.stats, numRunning: running };
    backend.inFlight = ours;
    await backend.start();
    check(backend);
  } finally {
    backend.close();
    fake.close();
  }
}

test('load: this router\'s requests count as they start and end; the others\' as of the latest Stats', async () => {
  await backendAfterPoll(1, 1, (backend) => {
    assert.equal(backend.load, 1);
    backend.inFlight = 0; // our request ended: the replica is idle although the last Stats said 1
    assert.equal(backend.load, 0);
    backend.inFlight = 2;
    assert.equal(backend.load, 2);
  });
  await backendAfterPoll(4, 1, (backend) => {
    assert.equal(backend.load, 4); // 3 of them another router's
    backend.inFlight = 0;
    assert.equal(backend.load, 3);
  });
});
