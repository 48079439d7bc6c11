// `m2 coordinator` as the chart runs it: pointed at running workers with --workers, configured
// through M2_* variables, printing its ready line, serving, and exiting 0 on SIGTERM without
// touching workers it did not start. Start-up mistakes are one-line errors with exit codes.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnM2, stopChildren, type M2Child } from '../../coordinator/group/child-process.ts';
import { coordinatorClient, generate, greedy, MICRO_DIR, prompt, stats } from './coordinator-harness.ts';
import { killTagged, newTag, processesTagged, runM2, waitFor } from './tp-harness.ts';

const tag = newTag();
const env = { M2_TEST_TAG: tag };
const started: M2Child[] = [];

after(async () => {
  await stopChildren(started, 1000);
  killTagged(tag);
});

test('--workers: loads running workers, reads M2_* variables, serves, exits 0 on SIGTERM and leaves the workers alone', async () => {
  const workers = await Promise.all(
    [0, 1].map((rank) => spawnM2(['worker', '--rank', String(rank), '--port', '0', '--health-port', '0'], { name: `worker ${rank}`, timeoutMs: 30_000, env })),
  );
  started.push(...workers);
  const coordinator = await spawnM2(
    ['coordinator', '--model', MICRO_DIR, '--workers', workers.map((w) => w.ready.grpc).join(','), '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'],
    { name: 'coordinator', timeoutMs: 60_000, env: { ...env, M2_TP: '2', M2_SERVED_MODEL_NAME: 'from-env', M2_KV_CACHE_MEMORY: '256KiB' } },
  );
  started.push(coordinator);
  assert.match(coordinator.ready.grpc ?? '', /^127\.0\.0\.1:\d+$/);
  assert.match(coordinator.ready.http ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(coordinator.ready.model, 'from-env');

  const client = coordinatorClient(coordinator.ready.grpc!);
  try {
    const s = await stats(client);
    assert.equal(s.ready, true);
    assert.equal(s.tpSize, 2);
    assert.equal(s.numKvBlocks, 32);
    assert.equal((await generate(client, greedy('cli-1', prompt(10, 1), 5))).tokenIds.length, 5);
  } finally {
    client.close();
  }
  assert.equal((await fetch(`${coordinator.ready.http}/ready`)).status, 200);

  coordinator.process.kill('SIGTERM');
  assert.equal(await coordinator.exited, '0', coordinator.stderrTail());
  assert.ok(workers.every((w) => w.process.exitCode === null), 'workers it did not start keep running');
  await stopChildren(workers, 2000);
  assert.ok(await waitFor(() => processesTagged(tag).length === 0, 5000), `left: ${processesTagged(tag).join(', ')}`);
});

test('start-up mistakes are one-line errors: usage exit 2, an unusable group exit 1', async () => {
  const tag = newTag();
  const noModel = await runM2(['coordinator'], tag);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /^m2: --model DIR is required\n$/);
  const badWorkers = await runM2(['coordinator', '--model', MICRO_DIR, '--workers', 'nohost'], tag);
  assert.equal(badWorkers.code, 2);
  assert.match(badWorkers.stderr, /--workers: "nohost" is not host:port/);
  const tooFew = await runM2(['coordinator', '--model', MICRO_DIR, '--tp', '2', '--workers', '127.0.0.1:1', '--port', '0', '--metrics-port', '0'], tag);
  assert.equal(tooFew.code, 1);
  assert.match(tooFew.stderr, /cannot start the coordinator: --tp 2 needs 2 worker addresses, got 1/);
  assert.deepEqual(processesTagged(tag), []);
});
