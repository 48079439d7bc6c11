// Issue 6's batching check on the real tokenizer-sized model: through CoordinatorService with
// real worker processes (tiny, TP 2), 16 concurrent requests of mixed lengths give the same greedy
// ids as each alone, and the KV pool is idle afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/service/coordinator-server.ts';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { coordinatorClient, generate, greedy, prompt, statsWhen } from './coordinator-harness.ts';
import { killTagged, newTag } from './tp-harness.ts';

const tag = newTag();
process.env.M2_TEST_TAG = tag;

let coordinator: RunningCoordinator;
let client: CoordinatorServiceClient;

before(async () => {
  coordinator = await startCoordinator({
    replica: {
      modelDir: makeModel({ preset: 'tiny' }),
      tp: 2,
      collective: 'shm',
      kvCacheMemory: '8MiB',
      blockSize: 16,
      maxNumSeqs: 16,
      maxNumBatchedTokens: 256,
      threadsPerRank: 1,
      stepTimeoutMs: 60_000,
      loadTimeoutMs: 60_000,
      collectiveTimeoutMs: 10_000,
    },
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    servedModelName: 'tiny',
    readiness: { intervalMs: 200, freshMs: 1500, healthTimeoutMs: 1000 },
  });
  client = coordinatorClient(coordinator.grpcAddress);
});

after(async () => {
  client?.close();
  await coordinator?.shutdown(0);
  killTagged(tag);
});

test('tiny at TP 2: 16 concurrent requests give the greedy ids each gets alone; nothing leaks', async () => {
  // Lengths 5..125 straddle block boundaries and force chunked prefill (budget 256 tokens/step).
  const prompts = Array.from({ length: 16 }, (_, i) => prompt(5 + 8 * i, 100 + i));
  const alone = [];
  for (const [i, p] of prompts.entries()) alone.push(await generate(client, greedy(`alone-${i}`, p, 8)));
  // The solo runs filled the prefix cache: the batch mixes cached prefixes with fresh decode.
  const together = await Promise.all(prompts.map((p, i) => generate(client, greedy(`together-${i}`, p, 8))));
  assert.deepEqual(together.map((r) => r.tokenIds), alone.map((r) => r.tokenIds));
  for (const r of together) assert.equal(r.tokenIds.length, 8);
  const idle = await statsWhen(client, (s) => s.numRunning === 0 && s.numWaiting === 0 && s.kvCacheUsage === 0, 3000);
  assert.equal(idle.kvCacheUsage, 0);
});

test('penalties with a cached prefix: rank 0 gets the whole prompt, the repeat gives the same ids', async () => {
  // Rank 0 applies penalties from the token history it saw, so a penalised request must not start
  // after cached blocks (it used to fail with ERR_PENALTY_HISTORY on the repeat).
  const p = prompt(70, 7);
  const penalised = (id: string): ReturnType<typeof greedy> => {
    const base = greedy(id, p, 6);
    return { ...base, params: { ...base.params, sampling: { ...base.params?.sampling, presencePenalty: 0.5, repetitionPenalty: 1.2 } } };
  };
  await generate(client, greedy('plain', p, 6)); // fills the prefix cache with this prompt
  const first = await generate(client, penalised('pen-1'));
  const second = await generate(client, penalised('pen-2'));
  assert.deepEqual(second.tokenIds, first.tokenIds);
  assert.equal(second.messages.at(-1)?.usage?.cachedTokens, 0);
  assert.equal(first.tokenIds.length, 6);
});
