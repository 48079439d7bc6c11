// CoordinatorService over real worker processes (micro, TP 2) through a real gRPC client: Stats,
// streaming, batch-invariant greedy ids, prefix-cache hits, Abort and cancellation freeing the KV
// cache, a full queue (RESOURCE_EXHAUSTED), context length (OUT_OF_RANGE), bad input, the health
// port, and the drain: stop admitting, finish what runs, leave no process behind.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunningCoordinator } from '../../coordinator/service/coordinator-server.ts';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import { collect, coordinatorClient, generate, greedy, prompt, rejectionCode, startMicroCoordinator, stats, statsWhen } from './coordinator-harness.ts';
import { killTagged, newTag, processesTagged, waitFor } from './tp-harness.ts';

const tag = newTag();
process.env.M2_TEST_TAG = tag;

let coordinator: RunningCoordinator;
let client: CoordinatorServiceClient;

before(async () => {
  // 64 blocks of 16 tokens: max_model_len 1024; 4 running + 8 waiting at most.
  coordinator = await startMicroCoordinator({ kvCacheMemory: '512KiB', maxNumSeqs: 4, maxWaitingRequests: 8 });
  client = coordinatorClient(coordinator.grpcAddress);
});

after(async () => {
  client?.close();
  await coordinator?.shutdown(0);
  killTagged(tag);
});

const idle = (s: { numRunning: number; numWaiting: number; kvCacheUsage: number }): boolean =>
  s.numRunning === 0 && s.numWaiting === 0 && s.kvCacheUsage === 0;

test('Stats describe the replica; it is ready once a probe passed', async () => {
  assert.match(coordinator.readyLine, /^m2 ready grpc=127\.0\.0\.1:\d+ http=http:\/\/127\.0\.0\.1:\d+ model=micro$/);
  const s = await stats(client);
  assert.equal(s.ready, true);
  assert.equal(s.model, 'micro');
  assert.equal(s.tpSize, 2);
  assert.equal(s.numKvBlocks, 64);
  assert.equal(s.blockSize, 16);
  assert.equal(s.maxModelLen, 1024);
  assert.ok(idle(s));
  assert.equal((await fetch(`${coordinator.httpUrl}/health`)).status, 200);
  const ready = await fetch(`${coordinator.httpUrl}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { tpSize: number }).tpSize, 2);
});

test('Generate streams token by token; concurrent requests get the ids each gets alone; a repeated prefix is cached', async () => {
  const prompts = Array.from({ length: 8 }, (_, i) => prompt(20 + 3 * i, i + 1));
  const alone = [];
  for (const [i, p] of prompts.entries()) alone.push(await generate(client, greedy(`alone-${i}`, p, 12)));
  for (const r of alone) {
    assert.equal(r.tokenIds.length, 12);
    assert.equal(r.finishReason, 'length');
    assert.ok(r.messages.length >= 2, `streamed in ${r.messages.length} messages`);
    const last = r.messages.at(-1)!;
    assert.equal(last.usage?.completionTokens, 12);
    assert.ok(last.e2eSeconds > 0);
  }
  const together = await Promise.all(prompts.map((p, i) => generate(client, greedy(`together-${i}`, p, 12))));
  assert.deepEqual(together.map((r) => r.tokenIds), alone.map((r) => r.tokenIds));
  // The same prompts ran before: their full blocks came from the prefix cache.
  for (const [i, r] of together.entries()) {
    const usage = r.messages.at(-1)!.usage!;
    assert.equal(usage.promptTokens, prompts[i].length);
    assert.equal(usage.cachedTokens, Math.floor((prompts[i].length - 1) / 16) * 16);
  }
  const s = await stats(client);
  assert.ok(s.cachedBlockHashes.length > 0 && s.cachedBlockHashes.every((h) => Number.isSafeInteger(h)));
  assert.ok(idle(s));
});

function firstMessage(call: grpc.ClientReadableStream<EngineGenerateResponse__Output>): Promise<void> {
  return new Promise((resolve) => call.once('data', () => resolve()));
}

test('Abort mid-decode and a cancelled call both free the request and its KV blocks at once', async () => {
  const long = { ...greedy('to-abort', prompt(40, 9), 800), params: { n: 1, maxTokens: 800, ignoreEos: true, sampling: { temperature: 0 } } };
  const call = client.Generate(long);
  const done = collect(call);
  await firstMessage(call);
  const busy = await stats(client);
  assert.equal(busy.numRunning, 1);
  assert.ok(busy.kvCacheUsage > 0);
  const found = await new Promise<boolean>((resolve, reject) => client.Abort({ requestId: 'to-abort' }, (err, res) => (err ? reject(err) : resolve(res!.found))));
  assert.equal(found, true);
  const result = await done;
  assert.equal(result.finishReason, 'abort');
  assert.ok(result.tokenIds.length < 800);
  assert.ok(idle(await statsWhen(client, idle, 2000)));

  const cancelled = client.Generate({ ...long, requestId: 'to-cancel' });
  const ended = collect(cancelled).catch((err: grpc.ServiceError) => err.code);
  await firstMessage(cancelled);
  cancelled.cancel();
  assert.equal(await ended, grpc.status.CANCELLED);
  assert.ok(idle(await statsWhen(client, idle, 2000)), 'cancelling the call frees everything');
  const unknown = await new Promise<boolean>((resolve) => client.Abort({ requestId: 'no-such' }, (_err, res) => resolve(res?.found ?? true)));
  assert.equal(unknown, false);
});

test('a full waiting queue answers RESOURCE_EXHAUSTED; the admitted requests still complete', async () => {
  const calls = Array.from({ length: 16 }, (_, i) => generate(client, { ...greedy(`q-${i}`, prompt(8, 50 + i), 40), params: { n: 1, maxTokens: 40, ignoreEos: true } }));
  const settled = await Promise.allSettled(calls);
  const refused = settled.filter((s) => s.status === 'rejected');
  const served = settled.filter((s) => s.status === 'fulfilled');
  // At most 4 running + 8 waiting fit; the rest are refused, none fails otherwise.
  assert.ok(refused.length >= 4, `${refused.length} refused`);
  for (const r of refused) assert.equal(((r as PromiseRejectedResult).reason as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  for (const s of served) assert.equal((s as PromiseFulfilledResult<{ tokenIds: number[] }>).value.tokenIds.length, 40);
  assert.ok(idle(await statsWhen(client, idle, 2000)));
});

test('prompts over the context are OUT_OF_RANGE; bad input INVALID_ARGUMENT; a duplicate id ALREADY_EXISTS', async () => {
  const over = await rejectionCode(generate(client, greedy('long', prompt(1000, 3), 100)));
  assert.equal(over.code, grpc.status.OUT_OF_RANGE);
  assert.match(over.details, /maximum context length is 1024 tokens/);
  assert.equal((await rejectionCode(generate(client, greedy('full', prompt(1024, 3), 0)))).code, grpc.status.OUT_OF_RANGE);
  const bad = await rejectionCode(generate(client, greedy('bad-id', [1, 2, 600], 4)));
  assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  assert.match(bad.details, /token id 600 outside/);
  assert.equal((await rejectionCode(generate(client, greedy('', [1, 2], 4)))).code, grpc.status.INVALID_ARGUMENT);

  const first = client.Generate({ ...greedy('dup', prompt(10, 4), 300), params: { n: 1, maxTokens: 300, ignoreEos: true } });
  const firstDone = collect(first);
  await firstMessage(first);
  assert.equal((await rejectionCode(generate(client, greedy('dup', prompt(10, 4), 4)))).code, grpc.status.ALREADY_EXISTS);
  first.cancel();
  await firstDone.catch(() => undefined);
  assert.ok(idle(await statsWhen(client, idle, 2000)));
});

test('shutdown drains: new requests UNAVAILABLE, the running one finishes, no worker is left', async () => {
  const call = client.Generate({ ...greedy('last', prompt(12, 7), 60), params: { n: 1, maxTokens: 60, ignoreEos: true } });
  const running = collect(call);
  // Shut down only once the request streams: a fixed sleep lost the race on a loaded machine.
  await firstMessage(call);
  const stopping = coordinator.shutdown(20_000);
  assert.equal((await stats(client)).ready, false);
  assert.equal((await rejectionCode(generate(client, greedy('late', prompt(5, 1), 4)))).code, grpc.status.UNAVAILABLE);
  const result = await running;
  assert.equal(result.finishReason, 'length');
  assert.equal(result.tokenIds.length, 60);
  await stopping;
  assert.ok(await waitFor(() => processesTagged(tag).length === 0, 5000), `left: ${processesTagged(tag).join(', ')}`);
});
