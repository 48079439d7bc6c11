// A rank dying under the coordinator (micro, TP 2, real worker processes): the request running on
// it fails with a clear error naming the rank, Stats and /ready stop claiming readiness, new
// requests are refused with UNAVAILABLE (the router sends them to another replica), and shutdown
// still leaves no process behind. An idle replica notices a dead rank through its readiness checks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunningCoordinator } from '../../coordinator/service/coordinator-server.ts';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import { collect, coordinatorClient, generate, greedy, prompt, rejectionCode, startMicroCoordinator, stats, statsWhen } from './coordinator-harness.ts';
import { killTagged, newTag, processesTagged, waitFor } from './tp-harness.ts';

const tag = newTag();
process.env.M2_TEST_TAG = tag;

let coordinator: RunningCoordinator;
let client: CoordinatorServiceClient;

before(async () => {
  coordinator = await startMicroCoordinator({ kvCacheMemory: '2MiB', collectiveTimeoutMs: 2000 });
  client = coordinatorClient(coordinator.grpcAddress);
});

after(async () => {
  client?.close();
  await coordinator?.shutdown(0);
  killTagged(tag);
});

test('a worker killed mid-generation fails its request clearly and the replica reports not ready', async (t) => {
  assert.equal((await stats(client)).ready, true);
  const workers = processesTagged(tag);
  assert.equal(workers.length, 2, 'the coordinator runs in this process; its two ranks are children');
  const call = client.Generate({ ...greedy('doomed', prompt(30, 2), 3000), params: { n: 1, maxTokens: 3000, ignoreEos: true } });
  const outcome = collect(call).then(
    () => assert.fail('the request cannot complete without rank 1'),
    (err: grpc.ServiceError) => err,
  );
  await new Promise<void>((resolve) => call.once('data', () => resolve()));
  const killedAt = performance.now();
  process.kill(workers[1], 'SIGKILL');
  const err = await outcome;
  t.diagnostic(`request failed ${((performance.now() - killedAt) / 1000).toFixed(2)} s after the kill`);
  assert.equal(err.code, grpc.status.INTERNAL);
  // The group failure is recorded by whichever call met the dead rank first: the step or an idle
  // readiness probe that ran just before it.
  assert.match(err.details, /step \d+ failed on the workers: rank [01] (Step|ProbeStep) failed/);

  const s = await statsWhen(client, (st) => !st.ready, 5000);
  assert.equal(s.ready, false);
  assert.equal(s.numRunning, 0);
  assert.equal(s.kvCacheUsage, 0);
  const ready = await fetch(`${coordinator.httpUrl}/ready`);
  assert.equal(ready.status, 503);
  assert.match(((await ready.json()) as { reason: string }).reason, /worker group failed: rank [01]/);
  const refused = await rejectionCode(generate(client, greedy('after', prompt(5, 1), 4)));
  assert.equal(refused.code, grpc.status.UNAVAILABLE);
  assert.match(refused.details, /rank [01]/);
});

test('an idle replica whose rank dies turns not ready within the freshness window; shutdown leaves nothing', async (t) => {
  await coordinator.shutdown(1000);
  assert.ok(await waitFor(() => processesTagged(tag).length === 0, 5000), `left: ${processesTagged(tag).join(', ')}`);

  coordinator = await startMicroCoordinator({ kvCacheMemory: '512KiB', collectiveTimeoutMs: 2000 });
  const idleClient = coordinatorClient(coordinator.grpcAddress);
  try {
    assert.equal((await stats(idleClient)).ready, true);
    const killedAt = performance.now();
    process.kill(processesTagged(tag)[0], 'SIGKILL');
    const s = await statsWhen(idleClient, (st) => !st.ready, 5000);
    const seconds = (performance.now() - killedAt) / 1000;
    t.diagnostic(`not ready ${seconds.toFixed(2)} s after the kill`);
    assert.equal(s.ready, false);
    // Readiness checks run every 200 ms here; a dead rank fails its Health call at once.
    assert.ok(seconds < 2.5, `took ${seconds} s`);
  } finally {
    idleClient.close();
  }
  await coordinator.shutdown(1000);
  assert.ok(await waitFor(() => processesTagged(tag).length === 0, 5000), `left: ${processesTagged(tag).join(', ')}`);
});
