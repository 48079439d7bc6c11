// Preemption by recompute through the CoordinatorService over real workers (micro, TP 2): with a
// KV pool too small for every running request, the engine preempts, and each preempted request
// still produces exactly the greedy ids it produces alone. Nothing leaks afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningCoordinator } from '../../coordinator/service/coordinator-server.ts';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import { coordinatorClient, generate, greedy, prompt, startMicroCoordinator, statsWhen } from './coordinator-harness.ts';
import { killTagged, newTag, processesTagged, waitFor } from './tp-harness.ts';

const tag = newTag();
process.env.M2_TEST_TAG = tag;

let coordinator: RunningCoordinator;
let client: CoordinatorServiceClient;

before(async () => {
  // 16 blocks of 16 tokens: one request of 40 + 80 tokens takes 8, four of them need 32.
  coordinator = await startMicroCoordinator({ kvCacheMemory: '128KiB', maxNumSeqs: 8 });
  client = coordinatorClient(coordinator.grpcAddress);
});

after(async () => {
  client?.close();
  await coordinator?.shutdown(0);
  killTagged(tag);
});

test('requests preempted under a tiny KV pool give the same greedy ids as alone', async (t) => {
  const prompts = Array.from({ length: 4 }, (_, i) => prompt(40, 20 + i));
  const request = (id: string, p: number[]) => ({ ...greedy(id, p, 80), params: { n: 1, maxTokens: 80, ignoreEos: true, sampling: { temperature: 0 } } });
  const alone = [];
  for (const [i, p] of prompts.entries()) alone.push((await generate(client, request(`alone-${i}`, p))).tokenIds);
  assert.equal(coordinator.replica.engine.stats().numPreemptions, 0);

  const together = await Promise.all(prompts.map((p, i) => generate(client, request(`together-${i}`, p))));
  const preemptions = coordinator.replica.engine.stats().numPreemptions;
  assert.ok(preemptions > 0, 'the pool is too small for all four: some were preempted');
  assert.deepEqual(together.map((r) => r.tokenIds), alone);
  for (const r of together) assert.equal(r.finishReason, 'length');
  t.diagnostic(`${preemptions} preemptions`);

  const idle = await statsWhen(client, (s) => s.numRunning === 0 && s.numWaiting === 0 && s.kvCacheUsage === 0, 2000);
  assert.equal(idle.kvCacheUsage, 0);
  coordinator.replica.engine.checkInvariants();
});

test('stopping the coordinator stops its workers', async () => {
  await coordinator.shutdown(1000);
  assert.ok(await waitFor(() => processesTagged(tag).length === 0, 5000), `left: ${processesTagged(tag).join(', ')}`);
});
