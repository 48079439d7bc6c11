// Typed binding of the native forward pass (kernels/src/model*.cc): one NativeModel per rank
// holds its weight shard, its paged KV cache and a persistent thread pool, and runs a whole step
// (all layers, logits of the returned rows, sampling on rank 0) in one asynchronous native call.
import { nativeAddon } from './addon.ts';
import type { SamplingOptions } from './sampling.ts';
import type { Communicator } from './collective.ts';

/** This rank's shard geometry; head, intermediate and vocab-range counts are the shard's own. */
export interface NativeModelShape {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  vocabStart: number;
  vocabEnd: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** head_dim / 2 inverse frequencies (YaRN/linear scaling already applied). */
  ropeInvFreq: Float32Array;
  /** Multiplies cos/sin (YaRN attention factor; 1 otherwise). */
  ropeAttentionScaling: number;
  rank: number;
  worldSize: number;
}

/** Sizes fixed at creation: scratch, KV cache (K and V per layer) and the thread pool. */
export interface NativeModelLimits {
  threads: number;
  /** Most rows (tokens) per step. */
  maxTokens: number;
  numBlocks: number;
  blockSize: number;
  /** Longest sequence, in tokens. */
  maxModelLen: number;
  /** Element type of the KV cache (default f32; bf16/f16 halve it, CPU only). */
  kvCacheDtype?: TensorDtypeName;
}

export interface StepSequence {
  /** Stable per sequence: rank 0 keys the penalty history by it. */
  id: number;
  /** Rows of this sequence in the flat batch (sequences are laid out in order). */
  numTokens: number;
  /** KV blocks of the sequence; must cover positions [0, first position of the step). */
  blockTable: Int32Array;
  /** Ascending row indices within the sequence whose next token is sampled (last row for decode). */
  outputRows: Int32Array;
  /** [numTokens * numTokens], row i lists the step rows that row i attends to; default causal. */
  treeMask?: Uint8Array;
  /** Positions below it are prompt tokens (repetition penalty); default 0. */
  promptLen?: number;
  sampling?: SamplingOptions;
  /** Capture the hidden state entering these layers (numLayers = final, before the norm). */
  captureLayers?: Int32Array;
}

export interface StepRequest {
  /** Token ids of every row, or hiddenStates for a later pipeline stage (exactly one of them). */
  tokens?: Int32Array;
  hiddenStates?: Float32Array;
  positions: Int32Array;
  slotMapping: Int32Array;
  sequences: StepSequence[];
  /** Default true; false computes logits only (with returnLogits). */
  sample?: boolean;
  /** Return the raw logits of every returned row (tests and diagnostics only: 4 * vocab bytes each). */
  returnLogits?: boolean;
}

export interface StepResult {
  /** One per returned row, sequences in order, rows ascending. */
  ids: Int32Array;
  logprobs: Float32Array;
  topCounts: Int32Array;
  /** [rows * 20]: the first topCounts[r] of each row are used. */
  topIds: Int32Array;
  topLogprobs: Float32Array;
  logits?: Float32Array;
  /** Per sequence: [captureLayers.length, numTokens, hiddenSize] or null. */
  captured: (Float32Array | null)[];
  forwardNs: number;
  collectiveNs: number;
}

export type TensorDtypeName = 'f32' | 'f16' | 'bf16';

export interface NativeModel {
  /** Synchronous; copies `data` (the shard's slice, row-major) in. Throws on an unexpected name or shape. */
  setTensor(name: string, data: Uint8Array, dtype: TensorDtypeName, shape: number[]): void;
  /** Names of the tensors still to set, sorted. */
  missingTensors(): string[];
  /**
   * Runs one step off the event loop. Rejects with `code` ERR_STEP_REQUEST (malformed request,
   * thrown synchronously), ERR_MODEL_BUSY (a step is running), ERR_MODEL_INCOMPLETE, ERR_SAMPLING_*.
   */
  step(request: NativeStepRequest): Promise<StepResult>;
  /** Forgets a finished sequence's penalty history. */
  releaseSequence(id: number): void;
  /** Bytes of weight matrices one decoded token reads on this rank (layers + lm_head). */
  weightBytesPerToken(): number;
}

/** StepRequest with sampling options in the native field layout. */
export type NativeStepRequest = Omit<StepRequest, 'sequences'> & { sequences: NativeStepSequence[] };
type NativeStepSequence = Omit<StepSequence, 'sampling'> & { sampling?: NativeSamplingFields };
interface NativeSamplingFields extends Omit<SamplingOptions, 'logitBias' | 'bannedIds'> {
  logitBiasIds?: Int32Array;
  logitBiasValues?: Float32Array;
  bannedIds?: Int32Array;
}

const native = nativeAddon<{
  NativeModel: new (options: { shape: NativeModelShape; limits: NativeModelLimits; collective?: Communicator }) => NativeModel;
}>();

/** `collective` is required when shape.worldSize > 1 (this rank's group membership). */
export function createNativeModel(shape: NativeModelShape, limits: NativeModelLimits, collective?: Communicator): NativeModel {
  return new native.NativeModel({ shape, limits, collective });
}

function nativeSampling(s: SamplingOptions): NativeSamplingFields {
  const { logitBias, bannedIds, ...rest } = s;
  return {
    ...rest,
    logitBiasIds: logitBias ? Int32Array.from(logitBias.keys()) : undefined,
    logitBiasValues: logitBias ? Float32Array.from(logitBias.values()) : undefined,
    bannedIds: bannedIds ? Int32Array.from(bannedIds) : undefined,
  };
}

/** Runs `request` on `model`, converting sampling options to the native layout. */
export function runStep(model: NativeModel, request: StepRequest): Promise<StepResult> {
  return model.step({
    ...request,
    sequences: request.sequences.map((s) => ({ ...s, sampling: s.sampling ? nativeSampling(s.sampling) : undefined })),
  });
}
