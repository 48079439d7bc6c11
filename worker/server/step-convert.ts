// Converts between the WorkerService wire messages and the native step API: derives each row's
// position and KV slot from the sequence's start position and block table, unpacks the tree
// mask, and folds the native flat outputs back into per-sequence SampledTokens.
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { SamplingParams__Output } from '../../proto/gen/m2/v1/SamplingParams.ts';
import type { SequenceOutput } from '../../proto/gen/m2/v1/SequenceOutput.ts';
import type { StepRequest as NativeStepRequest, StepResult } from '../../kernels/model.ts';
import type { SamplingOptions } from '../../kernels/sampling.ts';

export class StepRequestError extends Error {
  override readonly name = 'StepRequestError';
}

export function samplingOptions(p: SamplingParams__Output | null): SamplingOptions | undefined {
  if (!p) return undefined;
  if (p.logitBiasIds.length !== p.logitBiasValues.length) {
    throw new StepRequestError(`sampling.logit_bias_ids has ${p.logitBiasIds.length} entries but logit_bias_values ${p.logitBiasValues.length}`);
  }
  return {
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP === 0 ? 1 : p.topP,
    minP: p.minP,
    repetitionPenalty: p.repetitionPenalty === 0 ? 1 : p.repetitionPenalty,
    presencePenalty: p.presencePenalty,
    frequencyPenalty: p.frequencyPenalty,
    seed: p.seed,
    choiceIndex: p.choiceIndex,
    logprobs: p.logprobs < 0 ? undefined : p.logprobs,
    logitBias: p.logitBiasIds.length ? new Map(p.logitBiasIds.map((id, i) => [id, p.logitBiasValues[i]])) : undefined,
    bannedIds: p.bannedIds.length ? p.bannedIds : undefined,
    allowedBitmask: p.allowedBitmask.length ? Uint32Array.from(p.allowedBitmask) : undefined,
  };
}

function unpackTreeMask(bits: Buffer, n: number, seqId: number): Uint8Array | undefined {
  if (bits.length === 0) return undefined;
  if (bits.length !== Math.ceil((n * n) / 8)) throw new StepRequestError(`sequence ${seqId}: tree_mask has ${bits.length} bytes, expected ${Math.ceil((n * n) / 8)} for ${n} tokens`);
  const mask = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) mask[i] = (bits[i >> 3] >> (i & 7)) & 1;
  return mask;
}

/** Builds the native request; throws StepRequestError naming the field on malformed input. */
export function toNativeStep(req: StepRequest__Output, blockSize: number, hiddenSize: number): NativeStepRequest {
  const hasTokens = req.tokenIds.length > 0;
  const hidden = req.hiddenStates.length;
  if (hasTokens && hidden > 0) throw new StepRequestError('token_ids and hidden_states are exclusive');
  const numTokens = hasTokens ? req.tokenIds.length : hidden / (4 * hiddenSize);
  if (!Number.isInteger(numTokens)) throw new StepRequestError(`hidden_states has ${hidden} bytes, not a multiple of ${4 * hiddenSize}`);
  const positions = new Int32Array(numTokens);
  const slots = new Int32Array(numTokens);
  let expectedOffset = 0;
  const sequences = req.sequences.map((s) => {
    const id = s.seqId;
    if (s.tokenOffset !== expectedOffset) throw new StepRequestError(`sequence ${id}: token_offset ${s.tokenOffset} leaves a gap or overlap (expected ${expectedOffset})`);
    if (s.numTokens === 0 || s.tokenOffset + s.numTokens > numTokens) throw new StepRequestError(`sequence ${id}: ${s.numTokens} tokens at offset ${s.tokenOffset} do not fit the ${numTokens}-token batch`);
    expectedOffset += s.numTokens;
    const end = s.startPosition + s.numTokens;
    if (s.blockTable.length * blockSize < end) throw new StepRequestError(`sequence ${id}: block_table of ${s.blockTable.length} blocks does not cover position ${end - 1}`);
    for (let i = 0; i < s.numTokens; i++) {
      const pos = s.startPosition + i;
      positions[s.tokenOffset + i] = pos;
      slots[s.tokenOffset + i] = s.blockTable[Math.floor(pos / blockSize)] * blockSize + (pos % blockSize);
    }
    return {
      id,
      numTokens: s.numTokens,
      blockTable: Int32Array.from(s.blockTable),
      outputRows: Int32Array.from(s.outputIndices),
      treeMask: unpackTreeMask(s.treeMask, s.numTokens, id),
      promptLen: s.promptLen,
      sampling: samplingOptions(s.sampling),
      captureLayers: req.captureLayers.length && s.outputIndices.length ? Int32Array.from(req.captureLayers) : undefined,
    };
  });
  if (expectedOffset !== numTokens) throw new StepRequestError(`sequences cover ${expectedOffset} of the ${numTokens} tokens`);
  return {
    tokens: hasTokens ? Int32Array.from(req.tokenIds) : undefined,
    hiddenStates: hasTokens ? undefined : new Float32Array(req.hiddenStates.buffer.slice(req.hiddenStates.byteOffset, req.hiddenStates.byteOffset + hidden)),
    positions,
    slotMapping: slots,
    sequences,
  };
}

/** Per-sequence outputs of rank 0, in request order. */
export function fromNativeResult(native: NativeStepRequest, result: StepResult, hiddenSize: number): SequenceOutput[] {
  let row = 0;
  return native.sequences.map((s, si) => {
    const tokens = Array.from(s.outputRows, () => {
      const n = result.topCounts[row];
      const top = Array.from({ length: n }, (_, k) => ({ tokenId: result.topIds[row * 20 + k], logprob: result.topLogprobs[row * 20 + k] }));
      const out = { tokenId: result.ids[row], logprob: result.logprobs[row], topLogprobs: top };
      row++;
      return out;
    });
    const captured = result.captured[si];
    let capturedHidden: Buffer | undefined;
    if (captured && s.captureLayers) {
      // Native captures every row; the wire carries only the output rows.
      const rows = s.outputRows.length;
      const out = new Float32Array(s.captureLayers.length * rows * hiddenSize);
      for (let l = 0; l < s.captureLayers.length; l++) {
        for (let r = 0; r < rows; r++) {
          const src = (l * s.numTokens + s.outputRows[r]) * hiddenSize;
          out.set(captured.subarray(src, src + hiddenSize), (l * rows + r) * hiddenSize);
        }
      }
      capturedHidden = Buffer.from(out.buffer);
    }
    return { seqId: s.id, tokens, capturedHidden };
  });
}
