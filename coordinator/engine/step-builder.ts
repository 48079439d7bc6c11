// Turns one scheduled step into the single StepRequest every rank receives (on its
// WorkerService.StepStream): the flat token batch plus, per sequence, where its tokens sit
// (start position, block table) and whether its next token is sampled (only when the chunk
// reaches its last known token: a prefill chunk that does not end the prompt returns nothing).
import type { SamplingParams__Output } from '../../proto/gen/m2/v1/SamplingParams.ts';
import type { SequenceStep__Output } from '../../proto/gen/m2/v1/SequenceStep.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { ScheduledChunk } from './scheduler.ts';
import type { Sequence } from './sequence.ts';

const EMPTY = Buffer.alloc(0);

/** True when the chunk computes the sequence's last known token, so the step samples its next one. */
export function chunkSamples(chunk: ScheduledChunk): boolean {
  return chunk.seq.numComputedTokens + chunk.numTokens === chunk.seq.numTokens;
}

export function buildStepRequest(
  stepId: number,
  chunks: readonly ScheduledChunk[],
  samplingFor: (seq: Sequence) => SamplingParams__Output,
): StepRequest__Output {
  const tokenIds: number[] = [];
  const sequences: SequenceStep__Output[] = [];
  for (const chunk of chunks) {
    const { seq, numTokens } = chunk;
    const start = seq.numComputedTokens;
    sequences.push({
      seqId: seq.seqId,
      tokenOffset: tokenIds.length,
      numTokens,
      startPosition: start,
      promptLen: seq.promptLen,
      blockTable: [...seq.blockTable],
      outputIndices: chunkSamples(chunk) ? [numTokens - 1] : [],
      treeMask: EMPTY,
      sampling: samplingFor(seq),
    });
    for (let i = start; i < start + numTokens; i++) tokenIds.push(seq.tokenIds[i]);
  }
  return { stepId, tokenIds, hiddenStates: EMPTY, sequences, captureLayers: [] };
}
