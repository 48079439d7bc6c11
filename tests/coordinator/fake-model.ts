// A deterministic stand-in for the workers that behaves like a real model with respect to KV: it
// writes every step's tokens into its own paged KV store at the slots the block tables name, and
// computes each sampled token from the history it READS BACK from those blocks (not from the
// request). Wrong block tables, stale or shared-and-overwritten blocks, bad positions or a
// prefix-cache hit on the wrong content therefore change the output or fail the step, exactly as
// they would corrupt a real model's attention. Sampling mimics the RNG contract: greedy depends on
// the history only; temperature > 0 also on (seed, choice index, output position).
import type { SamplingParams__Output } from '../../proto/gen/m2/v1/SamplingParams.ts';
import type { SequenceOutput__Output } from '../../proto/gen/m2/v1/SequenceOutput.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';
import type { StepExecutor } from '../../coordinator/engine/executor.ts';

export interface FakeModelOptions {
  vocabSize: number;
  numBlocks: number;
  blockSize: number;
  maxNumBatchedTokens: number;
  maxNumSeqs: number;
}

/** What one step looked like, for assertions. */
export interface StepRecord {
  numTokens: number;
  seqs: { seqId: number; startPosition: number; numTokens: number; sampled: boolean }[];
}

function mix(h: number, value: number): number {
  return Math.imul(h ^ value, 0x01000193) >>> 0;
}

/** The fake model's next token after `history` (the whole sequence so far). */
export function fakeNextToken(
  history: readonly number[],
  sampling: Pick<SamplingParams__Output, 'temperature' | 'seed' | 'choiceIndex' | 'bannedIds'>,
  outputPosition: number,
  vocabSize: number,
): number {
  let h = 0x811c9dc5;
  for (const token of history) h = mix(h, token + 1);
  if (sampling.temperature > 0) {
    h = mix(mix(mix(mix(h, sampling.seed >>> 0), Math.floor(sampling.seed / 2 ** 32)), sampling.choiceIndex), outputPosition);
  }
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  let token = ((h ^ (h >>> 12)) >>> 0) % vocabSize;
  const banned = new Set(sampling.bannedIds);
  while (banned.has(token)) token = (token + 1) % vocabSize;
  return token;
}

export class FakeModelExecutor implements StepExecutor {
  readonly steps: StepRecord[] = [];
  readonly released: number[] = [];
  /** Runs inside step() before it resolves (the engine is then mid-step): tests abort or add here. */
  onStep: ((request: StepRequest__Output) => void | Promise<void>) | null = null;
  /** When set, step() rejects with it (once). */
  failNextStep: Error | null = null;
  private readonly kvToken: Int32Array;
  private readonly kvPosition: Int32Array;

  constructor(readonly options: FakeModelOptions) {
    this.kvToken = new Int32Array(options.numBlocks * options.blockSize);
    this.kvPosition = new Int32Array(options.numBlocks * options.blockSize).fill(-1);
  }

  async step(request: StepRequest__Output): Promise<StepResponse__Output> {
    await new Promise((resolve) => setImmediate(resolve));
    await this.onStep?.(request);
    if (this.failNextStep !== null) {
      const error = this.failNextStep;
      this.failNextStep = null;
      throw error;
    }
    const { blockSize, maxNumBatchedTokens, maxNumSeqs, vocabSize } = this.options;
    if (request.tokenIds.length > maxNumBatchedTokens) throw new Error(`step over the token budget: ${request.tokenIds.length}`);
    if (request.sequences.length > maxNumSeqs) throw new Error(`step over max_num_seqs: ${request.sequences.length}`);
    let offset = 0;
    for (const seq of request.sequences) {
      if (seq.tokenOffset !== offset) throw new Error(`sequence ${seq.seqId} at offset ${seq.tokenOffset}, expected ${offset}`);
      offset += seq.numTokens;
      if (seq.blockTable.length * blockSize < seq.startPosition + seq.numTokens) {
        throw new Error(`sequence ${seq.seqId}: block table too short`);
      }
      for (let i = 0; i < seq.numTokens; i++) {
        const slot = this.slot(seq.blockTable, seq.startPosition + i);
        this.kvToken[slot] = request.tokenIds[seq.tokenOffset + i];
        this.kvPosition[slot] = seq.startPosition + i;
      }
    }
    if (offset !== request.tokenIds.length) throw new Error('sequences do not cover the token batch');
    const outputs: SequenceOutput__Output[] = [];
    for (const seq of request.sequences) {
      const sampling = seq.sampling;
      if (sampling === null) throw new Error(`sequence ${seq.seqId} has no sampling params`);
      const tokens = seq.outputIndices.map((index) => {
        const position = seq.startPosition + index;
        const history = this.readHistory(seq.seqId, seq.blockTable, position);
        const tokenId = fakeNextToken(history, sampling, position + 1 - seq.promptLen, vocabSize);
        return { tokenId, logprob: -(tokenId % 7) / 4, topLogprobs: [] };
      });
      if (tokens.length > 0) outputs.push({ seqId: seq.seqId, tokens, capturedHidden: Buffer.alloc(0) });
    }
    this.steps.push({
      numTokens: request.tokenIds.length,
      seqs: request.sequences.map((s) => ({
        seqId: s.seqId,
        startPosition: s.startPosition,
        numTokens: s.numTokens,
        sampled: s.outputIndices.length > 0,
      })),
    });
    return { stepId: request.stepId, rank: 0, outputs, timings: { forwardNs: 1, collectiveNs: 0, sampleNs: 0 } };
  }

  async release(seqIds: readonly number[]): Promise<void> {
    this.released.push(...seqIds);
  }

  /** Tokens the step computed for `seqId` (summed over steps): what prefill actually cost. */
  computedTokens(seqId: number): number {
    let total = 0;
    for (const step of this.steps) for (const seq of step.seqs) if (seq.seqId === seqId) total += seq.numTokens;
    return total;
  }

  private slot(blockTable: readonly number[], position: number): number {
    const blockId = blockTable[Math.floor(position / this.options.blockSize)];
    if (blockId === undefined || blockId >= this.options.numBlocks) throw new Error(`bad block for position ${position}`);
    return blockId * this.options.blockSize + (position % this.options.blockSize);
  }

  private readHistory(seqId: number, blockTable: readonly number[], lastPosition: number): number[] {
    const history: number[] = [];
    for (let position = 0; position <= lastPosition; position++) {
      const slot = this.slot(blockTable, position);
      if (this.kvPosition[slot] !== position) throw new Error(`sequence ${seqId}: no KV for position ${position}`);
      history.push(this.kvToken[slot]);
    }
    return history;
  }
}

/**
 * What a request produces run alone, computed straight from the fake model (no engine): the
 * oracle for batching, chunking and preemption tests. Ends at EOS or maxTokens; with ignoreEos
 * EOS is banned instead (as the engine asks the sampler to).
 */
export function referenceTokens(
  prompt: readonly number[],
  sampling: Pick<SamplingParams__Output, 'temperature' | 'seed' | 'choiceIndex'>,
  limits: { maxTokens: number; eosId: number; ignoreEos: boolean; vocabSize: number },
): number[] {
  const history = [...prompt];
  const output: number[] = [];
  const bannedIds = limits.ignoreEos ? [limits.eosId] : [];
  while (output.length < limits.maxTokens) {
    const token = fakeNextToken(history, { ...sampling, bannedIds }, output.length, limits.vocabSize);
    history.push(token);
    output.push(token);
    if (token === limits.eosId) break;
  }
  return output;
}
