// The engine under pressure: preemption in a tiny KV pool, aborts at every stage, a full queue,
// failing workers, and many requests arriving at random steps. After each scenario the leak check
// must hold, and every request that was not aborted must produce exactly what it produces alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../coordinator/engine/errors.ts';
import type { EngineGenerateRequest } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import { referenceTokens } from './fake-model.ts';
import { assertNoLeaks, collect, EOS, makeEngine, randomTokens, VOCAB, type RequestResult } from './helpers.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const LIMITS = { eosId: EOS, vocabSize: VOCAB };

type NamedRequest = EngineGenerateRequest & { requestId: string };

function expectedFor(req: EngineGenerateRequest, choiceIndex: number): number[] {
  const params = req.params ?? {};
  const sampling = { temperature: Number(params.sampling?.temperature ?? 0), seed: Number(params.sampling?.seed ?? 0), choiceIndex };
  return referenceTokens(req.promptTokenIds ?? [], sampling, {
    ...LIMITS,
    maxTokens: params.maxTokens ?? 0,
    ignoreEos: params.ignoreEos ?? false,
  });
}

test('preemption under a tiny KV pool: every request still gets the tokens it gets alone', async () => {
  // 6 blocks of 16 tokens hold one 96-token sequence; eight requests need far more.
  const { engine } = makeEngine({ numKvBlocks: 6, maxNumBatchedTokens: 64 });
  const random = seededRandom(11);
  const requests: EngineGenerateRequest[] = Array.from({ length: 8 }, (_, i) => ({
    requestId: `p${i}`,
    promptTokenIds: randomTokens(random, 20 + Math.floor(random() * 20)),
    params: { maxTokens: 40, ignoreEos: true, sampling: i % 2 === 0 ? { temperature: 0.9, seed: 1000 + i } : {} },
  }));
  const results = await Promise.all(requests.map((req) => collect(engine.generate(req))));
  results.forEach((result, i) => assert.deepEqual(result.choices[0].tokenIds, expectedFor(requests[i], 0), requests[i].requestId));
  assert.ok(engine.stats().numPreemptions > 0, 'the pool was small enough to preempt');
  assertNoLeaks(engine);
  await engine.close();
});

test('abort mid-prefill frees everything and leaves other requests intact', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64, maxNumBatchedTokens: 32 });
  const random = seededRandom(12);
  const long: EngineGenerateRequest = { requestId: 'long', promptTokenIds: randomTokens(random, 300), params: { maxTokens: 5 } };
  const other: EngineGenerateRequest = { requestId: 'other', promptTokenIds: randomTokens(random, 10), params: { maxTokens: 20, ignoreEos: true } };
  let stepsSeen = 0;
  model.onStep = () => {
    if (++stepsSeen === 3) {
      assert.ok(engine.stats().kvCacheUsage > 0);
      assert.equal(engine.abort('long'), true);
      assert.equal(engine.abort('long'), false, 'a second abort finds nothing');
    }
  };
  const [aborted, kept] = await Promise.all([collect(engine.generate(long)), collect(engine.generate(other))]);
  assert.deepEqual(aborted.choices[0], { tokenIds: [], text: '', finishReason: 'abort', stopReason: '', numLogprobs: 0 });
  assert.equal(aborted.usage?.completionTokens, 0);
  assert.deepEqual(kept.choices[0].tokenIds, expectedFor(other, 0));
  assert.ok(model.released.includes(1), 'the aborted sequence is released on the workers');
  assertNoLeaks(engine);
  await engine.close();
});

test('abort mid-decode, and a consumer that stops reading, end the request and free its blocks', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64 });
  const prompt = randomTokens(seededRandom(13), 20);
  const req: EngineGenerateRequest = { requestId: 'd', promptTokenIds: prompt, params: { maxTokens: 50, ignoreEos: true, n: 2 } };
  let steps = 0;
  model.onStep = () => {
    if (++steps === 8) engine.abort('d');
  };
  const result = await collect(engine.generate(req));
  for (const choice of result.choices) {
    assert.equal(choice.finishReason, 'abort');
    assert.ok(choice.tokenIds.length > 0 && choice.tokenIds.length < 50);
  }
  assert.deepEqual(result.choices[0].tokenIds, expectedFor(req, 0).slice(0, result.choices[0].tokenIds.length));
  assertNoLeaks(engine);

  model.onStep = null;
  let received = 0;
  for await (const message of engine.generate({ ...req, requestId: 'walk-away' })) {
    received += message.choices.length;
    if (received >= 4) break;
  }
  assert.equal(engine.abort('walk-away'), false, 'leaving the stream already aborted it');
  assertNoLeaks(engine);
  await engine.close();
});

test('a full waiting queue refuses with RESOURCE_EXHAUSTED and recovers', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64, maxWaitingRequests: 2 });
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  model.onStep = () => gate;
  const req = (id: string): EngineGenerateRequest => ({ requestId: id, promptTokenIds: [1, 2, 3], params: { maxTokens: 3 } });
  const running = collect(engine.generate(req('a')));
  await new Promise((resolve) => setImmediate(resolve)); // 'a' is admitted; its step is held at the gate
  const queued = [collect(engine.generate(req('b'))), collect(engine.generate(req('c')))];
  assert.throws(
    () => engine.generate(req('d')),
    (error: unknown) => error instanceof EngineError && error.code === 'RESOURCE_EXHAUSTED' && /queue is full/.test(error.message),
  );
  openGate();
  await Promise.all([running, ...queued]);
  await collect(engine.generate(req('d')));
  assertNoLeaks(engine);
  await engine.close();
});

test('a failing step fails its requests with a clear error, frees their blocks, and the engine goes on', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64 });
  model.failNextStep = new Error('rank 1: collective timed out');
  const failed = collect(engine.generate({ requestId: 'f', promptTokenIds: [5, 6, 7], params: { maxTokens: 4 } }));
  await assert.rejects(
    failed,
    (error: unknown) => error instanceof EngineError && error.code === 'INTERNAL' && /step 1 failed on the workers: rank 1: collective timed out/.test(error.message),
  );
  assert.match(engine.stats().lastError, /collective timed out/);
  assertNoLeaks(engine);
  const ok = await collect(engine.generate({ requestId: 'g', promptTokenIds: [5, 6, 7], params: { maxTokens: 4, ignoreEos: true } }));
  assert.equal(ok.choices[0].tokenIds.length, 4);
  await engine.close();
});

test('many requests arriving at random steps, with aborts and preemption: invariants hold, no leaks, exact outputs', async () => {
  const random = seededRandom(2024);
  const { engine, model } = makeEngine({
    numKvBlocks: 12,
    blockSize: 8,
    maxModelLen: 96,
    maxNumBatchedTokens: 40,
    maxNumSeqs: 6,
  });
  const systems = [randomTokens(random, 17), randomTokens(random, 26), randomTokens(random, 9)];
  const requests: NamedRequest[] = Array.from({ length: 40 }, (_, i) => {
    const system = systems[Math.floor(random() * systems.length)];
    const sampled = random() < 0.5;
    return {
      requestId: `q${i}`,
      promptTokenIds: [...system, ...randomTokens(random, 1 + Math.floor(random() * 20))],
      params: {
        n: random() < 0.25 ? 2 : 1,
        maxTokens: 1 + Math.floor(random() * 40),
        sampling: sampled ? { temperature: 0.7, seed: Math.floor(random() * 1e9) } : {},
      },
    };
  });
  const toAbort = new Set(requests.filter(() => random() < 0.15).map((r) => r.requestId));
  const arrivalStep = requests.map(() => Math.floor(random() * 60));
  const results = new Map<string, Promise<RequestResult>>();
  let step = 0;
  const admitDue = () => {
    requests.forEach((req, i) => {
      if (arrivalStep[i] <= step && !results.has(req.requestId)) results.set(req.requestId, collect(engine.generate(req)));
    });
  };
  model.onStep = () => {
    step++;
    engine.checkInvariants();
    admitDue();
    for (const id of toAbort) if (random() < 0.1 && engine.abort(id)) toAbort.delete(id);
  };
  admitDue();
  while (results.size < requests.length) {
    await Promise.all(results.values());
    admitDue(); // the engine went idle before the last arrivals: let them in now
    step += 5;
  }
  for (const req of requests) {
    const result = await results.get(req.requestId)!;
    result.choices.forEach((choice, index) => {
      const expected = expectedFor(req, index);
      if (choice.finishReason === 'abort') {
        assert.deepEqual(choice.tokenIds, expected.slice(0, choice.tokenIds.length), `${req.requestId}/${index} prefix`);
      } else {
        assert.deepEqual(choice.tokenIds, expected, `${req.requestId}/${index}`);
        assert.equal(choice.finishReason, expected[expected.length - 1] === EOS ? 'stop' : 'length');
      }
    });
  }
  const stats = engine.stats();
  assert.ok(stats.numPreemptions > 0, 'preemption happened');
  assert.ok(stats.prefixCacheHitTokens > 0, 'shared system prompts hit the prefix cache');
  assertNoLeaks(engine);
  await engine.close();
});

test('close aborts running and waiting requests, waits for the in-flight step, and releases them', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64, maxNumSeqs: 1 });
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  model.onStep = () => gate;
  const running = collect(engine.generate({ requestId: 'r', promptTokenIds: [1, 2], params: { maxTokens: 9 } }));
  const waiting = collect(engine.generate({ requestId: 'w', promptTokenIds: [3, 4], params: { maxTokens: 9 } }));
  await new Promise((resolve) => setImmediate(resolve));
  let closed = false;
  const closing = engine.close().then(() => (closed = true));
  const [r, w] = await Promise.all([running, waiting]);
  assert.equal(r.choices[0].finishReason, 'abort');
  assert.equal(w.choices[0].finishReason, 'abort');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false, 'close waits for the step in flight');
  openGate();
  await closing;
  assert.deepEqual(model.released, [1], 'only the admitted sequence had worker state');
  assertNoLeaks(engine);
});
