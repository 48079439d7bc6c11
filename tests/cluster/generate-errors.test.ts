// `m2 generate` failures as a user meets them: bad TP sizes, a token id outside the vocabulary,
// a missing model folder, a worker SIGKILLed mid-generation, and SIGINT/SIGTERM to the command
// itself. Each must end with one clear line on stderr and a non-zero exit, leaving no worker
// process and no /dev/shm segment behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeModel } from '../../worker/model/make-model.ts';
import { GOLDEN_MODELS } from '../fixtures/golden/golden-models.ts';
import { childPids, killTagged, newTag, processesTagged, runM2, shmSegmentsOf, startM2, waitFor, type M2Result, type M2Run } from './tp-harness.ts';

const tiny = makeModel(GOLDEN_MODELS.tiny);
const gqa3 = makeModel(GOLDEN_MODELS['gqa3-bf16']);
const COMMON = ['--max-tokens', '4', '--json', '--kv-cache-memory', '16MiB'];

/** Checks one run's failure and that nothing of it is left; cleans up whatever is, either way. */
function assertCleanFailure(result: M2Result, tag: string, message: RegExp, code?: number): void {
  const left = processesTagged(tag);
  const segments = shmSegmentsOf(result.pid);
  killTagged(tag);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one error line, got:\n${result.stderr}`);
  assert.match(lines[0], /^m2: /);
  assert.match(lines[0], message);
  if (code === undefined) assert.ok(result.code !== null && result.code !== 0, `non-zero exit, got ${result.code} (${result.signal})`);
  else assert.equal(result.code, code);
  assert.equal(result.stdout, '', 'no JSON result on failure');
  assert.deepEqual(left, [], 'processes left behind');
  assert.deepEqual(segments, [], 'shm segments left behind');
}

const BAD_INPUT: { name: string; args: string[]; message: RegExp; code?: number }[] = [
  { name: 'TP 3', args: ['--model', tiny, '--tp', '3', '--token-ids', '1,2'], message: /--tp must be 1, 2, 4 or 8, got 3/, code: 2 },
  { name: 'TP 8 over 4 KV heads', args: ['--model', tiny, '--tp', '8', '--token-ids', '1,2'], message: /--tp 8 does not divide the model's num_key_value_heads \(4\)/ },
  { name: 'TP 4 over 2 KV heads', args: ['--model', gqa3, '--tp', '4', '--token-ids', '1,2'], message: /--tp 4 does not divide the model's num_key_value_heads \(2\)/ },
  { name: 'token id >= vocab', args: ['--model', tiny, '--tp', '2', '--token-ids', '5,152064'], message: /token id 152064 outside the vocabulary \[0, 152064\)/ },
  { name: 'KV dtype fp8', args: ['--model', tiny, '--kv-cache-dtype', 'fp8', '--token-ids', '1'], message: /--kv-cache-dtype must be one of auto, float32, bfloat16, float16, got "fp8"/, code: 2 },
  { name: 'missing model dir', args: ['--model', '/nonexistent/m2-model', '--tp', '2', '--token-ids', '1'], message: /model folder \/nonexistent\/m2-model has no config\.json/ },
];

for (const { name, args, message, code } of BAD_INPUT) {
  test(`bad input (${name}): one error line, non-zero exit, nothing left`, async () => {
    const tag = newTag();
    assertCleanFailure(await runM2(['generate', ...args, ...COMMON], tag), tag, message, code);
  });
}

/** CPU time (clock ticks, 100 per second) a process has used; 0 once it is gone. */
function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The rank of an `m2 worker --rank R` process; null for any other process. */
function workerRank(pid: number): number | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    return argv.includes('worker') ? Number(argv[argv.indexOf('--rank') + 1]) : null;
  } catch {
    return null;
  }
}

/**
 * Starts a long greedy generation at TP=2 and resolves with the worker pids (found through the
 * process tree, in rank order) once both are busy decoding: each has used ~2.5 s of CPU, about
 * 1.5 s past its start-up and load, while the whole run would take tens of seconds.
 */
async function startLongGeneration(tag: string, collective: 'shm' | 'tcp'): Promise<{ run: M2Run; workers: number[] }> {
  const args = ['generate', '--model', tiny, '--tp', '2', '--collective', collective, '--token-ids', '1,2,3', '--max-tokens', '3000', '--ignore-eos', '--json', '--kv-cache-memory', '16MiB'];
  const run = startM2(args, tag, 120_000);
  let workers: number[] = [];
  const busy = await waitFor(() => {
    const ranked = childPids(run.pid).map((pid) => ({ pid, rank: workerRank(pid) }));
    workers = ranked.filter((w) => w.rank !== null).sort((a, b) => a.rank! - b.rank!).map((w) => w.pid);
    return workers.length === 2 && workers.every((pid) => cpuTicks(pid) >= 250);
  }, 60_000);
  if (!busy) {
    run.kill('SIGKILL');
    killTagged(tag);
    assert.fail(`the workers did not start decoding within 60 s (workers: ${workers.join(', ') || 'none'})`);
  }
  return { run, workers };
}

for (const { collective, rank } of [
  { collective: 'shm', rank: 1 },
  { collective: 'tcp', rank: 0 },
] as const) {
  test(`a worker (rank ${rank}, ${collective}) SIGKILLed mid-generation fails the run with one line and stops the other rank`, async () => {
    const tag = newTag();
    const { run, workers } = await startLongGeneration(tag, collective);
    const victim = workers[rank];
    const killedAt = performance.now();
    process.kill(victim, 'SIGKILL');
    const result = await run.done;
    const seconds = (performance.now() - killedAt) / 1000;
    assertCleanFailure(result, tag, /step \d+ failed on the workers: rank \d Step failed/);
    assert.ok(seconds < 15, `the failure took ${seconds.toFixed(2)} s to surface`);
  });
}

test('a worker SIGKILLed while starting fails the run with one line and stops the ranks that did start', async () => {
  const tag = newTag();
  const run = startM2(['generate', '--model', tiny, '--tp', '2', '--token-ids', '1,2,3', ...COMMON], tag, 60_000);
  let victim: number | undefined;
  // A worker needs about a second to print its ready line; it is killed within ~20 ms of spawning.
  const seen = await waitFor(() => (victim = childPids(run.pid).find((pid) => workerRank(pid) === 1)) !== undefined, 30_000);
  assert.ok(seen && victim !== undefined, 'rank 1 was never spawned');
  process.kill(victim, 'SIGKILL');
  const result = await run.done;
  assertCleanFailure(result, tag, /worker 1 exited \(SIGKILL\) before it was ready/);
  assert.equal(result.signal, null, 'm2 generate exited on its own (was killed by the test timeout)');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} to m2 generate mid-run stops its workers`, async () => {
    const tag = newTag();
    const { run } = await startLongGeneration(tag, 'shm');
    run.kill(signal);
    const result = await run.done;
    const left = processesTagged(tag);
    killTagged(tag);
    assert.equal(result.code, signal === 'SIGINT' ? 130 : 143, `exit code (stderr: ${result.stderr})`);
    assert.deepEqual(left, [], 'worker processes alive after m2 generate exited');
    assert.deepEqual(shmSegmentsOf(result.pid), [], 'shm segments left behind');
  });
}
