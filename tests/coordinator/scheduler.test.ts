import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockManager } from '../../coordinator/engine/block-manager.ts';
import { Scheduler, type ScheduledChunk } from '../../coordinator/engine/scheduler.ts';
import { Sequence } from '../../coordinator/engine/sequence.ts';
import { buildStepRequest, chunkSamples } from '../../coordinator/engine/step-builder.ts';

const BS = 4;
let nextId = 1;
const range = (start: number, length: number): number[] => Array.from({ length }, (_, i) => start + i);

function seq(length: number, leader: Sequence | null = null, first = 1): Sequence {
  return new Sequence(nextId++, leader === null ? 0 : 1, range(first, length), BS, leader);
}

function setup(numBlocks: number, maxNumBatchedTokens: number, maxNumSeqs = 16) {
  const blocks = new BlockManager(numBlocks, BS);
  return { blocks, scheduler: new Scheduler(blocks, { maxNumBatchedTokens, maxNumSeqs }) };
}

/** Runs the scheduled step: tokens computed, and every sampling chunk gets a next token (7). */
function runStep(scheduler: Scheduler, chunks: ScheduledChunk[]): void {
  const sampling = chunks.filter(chunkSamples).map((c) => c.seq);
  scheduler.completeStep(chunks);
  for (const s of sampling) s.appendToken(7);
  scheduler.checkInvariants();
}

const summary = (chunks: ScheduledChunk[]) => chunks.map((c) => [c.seq.seqId, c.numTokens]);

test('a long prompt is prefilled in budget-sized chunks and samples only after the last chunk', () => {
  const { scheduler } = setup(16, 8);
  const s = seq(20);
  scheduler.add(s);
  const sizes: number[] = [];
  const sampled: boolean[] = [];
  while (s.numOutputTokens === 0) {
    const chunks = scheduler.schedule();
    sizes.push(chunks[0].numTokens);
    sampled.push(chunkSamples(chunks[0]));
    runStep(scheduler, chunks);
  }
  assert.deepEqual(sizes, [8, 8, 4]);
  assert.deepEqual(sampled, [false, false, true]);
  assert.deepEqual(summary(scheduler.schedule()), [[s.seqId, 1]], 'then it decodes one token per step');
});

test('a running decode gets its token every step while a long prompt prefills in the rest of the budget', () => {
  const { scheduler } = setup(64, 10);
  const short = seq(3);
  const long = seq(40, null, 100);
  scheduler.add(short);
  scheduler.add(long);
  const steps: number[][][] = [];
  while (long.numOutputTokens === 0) {
    const chunks = scheduler.schedule();
    steps.push(summary(chunks));
    runStep(scheduler, chunks);
  }
  assert.deepEqual(steps, [
    [[short.seqId, 3], [long.seqId, 7]],
    [[short.seqId, 1], [long.seqId, 9]],
    [[short.seqId, 1], [long.seqId, 9]],
    [[short.seqId, 1], [long.seqId, 9]],
    [[short.seqId, 1], [long.seqId, 6]],
  ]);
  assert.equal(short.numOutputTokens, 5, 'one token per step, never stalled by the prefill');
});

test('the head of the queue is admitted first even when it is long (no starvation)', () => {
  const { scheduler } = setup(64, 8);
  const long = seq(30);
  const shorts = [seq(3), seq(3), seq(3)];
  scheduler.add(long);
  for (const s of shorts) scheduler.add(s);
  assert.deepEqual(summary(scheduler.schedule()), [[long.seqId, 8]]);
});

test('max_num_seqs bounds the running batch', () => {
  const { scheduler } = setup(64, 100, 2);
  const seqs = [seq(3), seq(3), seq(3)];
  for (const s of seqs) scheduler.add(s);
  const chunks = scheduler.schedule();
  assert.equal(chunks.length, 2);
  assert.equal(scheduler.numRunning, 2);
  assert.equal(scheduler.numWaiting, 1);
});

test('out of blocks, the newest running sequence is preempted, keeps its tokens, and resumes first', () => {
  // 4 blocks of 4 tokens: two sequences of 7 tokens fill them, and the next decode needs a fifth.
  const { scheduler } = setup(4, 64);
  const older = seq(8, null, 1);
  const newer = seq(8, null, 50);
  const late = seq(3, null, 90);
  scheduler.add(older);
  scheduler.add(newer);
  scheduler.add(late); // no block left for it
  runStep(scheduler, scheduler.schedule());
  assert.equal(older.numTokens, 9);
  assert.equal(late.status, 'waiting');
  const chunks = scheduler.schedule();
  assert.deepEqual(summary(chunks), [[older.seqId, 1]]);
  assert.equal(scheduler.numPreemptions, 1);
  assert.equal(newer.status, 'waiting');
  assert.equal(newer.numComputedTokens, 0);
  assert.equal(newer.blockTable.length, 0);
  assert.equal(newer.numTokens, 9, 'its sampled token is kept');
  runStep(scheduler, chunks);
  scheduler.finish(older);
  // The preempted sequence is recomputed, ahead of the one that was already waiting. Its tail
  // block was evicted for the older one's new block; its first block is still cached.
  const resumed = scheduler.schedule();
  assert.deepEqual(resumed.map((c) => c.seq), [newer, late]);
  assert.equal(newer.numComputedTokens, 4, 'its first block hit');
  assert.equal(resumed[0].numTokens, 5);
  assert.ok(chunkSamples(resumed[0]));
  runStep(scheduler, resumed);
  scheduler.finish(newer);
  scheduler.finish(late);
  scheduler.checkInvariants();
  assert.equal(scheduler.hasWork, false);
});

test('extra choices wait until their leader prefilled the prompt, then reuse its blocks', () => {
  const { scheduler } = setup(32, 64);
  const leader = seq(10);
  const follower = seq(10, leader);
  scheduler.add(leader);
  scheduler.add(follower);
  assert.deepEqual(summary(scheduler.schedule()), [[leader.seqId, 10]]);
  runStep(scheduler, [{ seq: leader, numTokens: 10 }]);
  const next = scheduler.schedule();
  assert.deepEqual(summary(next), [[leader.seqId, 1], [follower.seqId, 2]]);
  assert.deepEqual(follower.blockTable.slice(0, 2), leader.blockTable.slice(0, 2));
  assert.equal(follower.numCachedPromptTokens, 8);
});

test('the step request lays out tokens, positions, block tables and output indices', () => {
  const { scheduler } = setup(32, 12);
  const a = seq(10);
  const b = seq(5, null, 30);
  scheduler.add(a);
  scheduler.add(b);
  const chunks = scheduler.schedule(); // a: 10 (complete), b: 2 of 5
  const request = buildStepRequest(3, chunks, (s) => ({
    temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
    seed: 5, choiceIndex: s.choiceIndex, logprobs: -1, logitBiasIds: [], logitBiasValues: [], bannedIds: [], allowedBitmask: [],
  }));
  assert.equal(request.stepId, 3);
  assert.deepEqual(request.tokenIds, [...range(1, 10), 30, 31]);
  const [sa, sb] = request.sequences;
  assert.deepEqual([sa.tokenOffset, sa.numTokens, sa.startPosition, sa.promptLen, sa.outputIndices], [0, 10, 0, 10, [9]]);
  assert.equal(sa.blockTable.length, 3);
  assert.deepEqual([sb.tokenOffset, sb.numTokens, sb.startPosition, sb.outputIndices], [10, 2, 0, []]);
  runStep(scheduler, chunks);
  const second = buildStepRequest(4, scheduler.schedule(), () => sa.sampling!);
  const sb2 = second.sequences.find((s) => s.seqId === b.seqId)!;
  assert.deepEqual([sb2.startPosition, sb2.numTokens, sb2.outputIndices], [2, 3, [2]]);
  assert.deepEqual(second.sequences.find((s) => s.seqId === a.seqId)!.startPosition, 10);
});

test('extra choices of a prompt without a full block do not wait: nothing could be shared', () => {
  const { scheduler } = setup(32, 64);
  const leader = seq(4);
  const follower = seq(4, leader);
  scheduler.add(leader);
  scheduler.add(follower);
  assert.deepEqual(summary(scheduler.schedule()), [[leader.seqId, 4], [follower.seqId, 4]]);
});
