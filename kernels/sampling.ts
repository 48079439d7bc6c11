// Typed binding of the native sampling kernel (kernels/src/sampling*.cc): the same code rank 0
// runs after the forward pass, callable one row at a time from JS for tests and tools.
// Order of operations, RNG and logprob semantics are documented in kernels/src/sampling.h.
import { nativeAddon } from './addon.ts';

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** <= 0 (default) = off. */
  topK?: number;
  /** (0, 1], default 1. */
  topP?: number;
  /** [0, 1], default 0; relative to the most likely token. */
  minP?: number;
  /** > 0, default 1; over prompt and output tokens of `history`. */
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Unsigned 64-bit; with choiceIndex and position it fixes the draw. Default 0. */
  seed?: bigint | number;
  choiceIndex?: number;
  /** Absent = none; 0 = the sampled token's logprob; k <= 20 = also the top k. */
  logprobs?: number;
  /** token id -> added to its logit. */
  logitBias?: ReadonlyMap<number, number>;
  bannedIds?: ArrayLike<number>;
  /** Bit i % 32 of word i / 32 set = token i allowed; ceil(vocab / 32) words. */
  allowedBitmask?: Uint32Array;
}

export interface TokenLogprob {
  id: number;
  logprob: number;
}

export interface SampledToken {
  token: number;
  /** Log-softmax of the raw logits at `token`; null when logprobs was not requested. */
  logprob: number | null;
  /** Descending, ties to the lower id; empty unless logprobs > 0. */
  top: TokenLogprob[];
}

/** Token history of one sequence (native object); sampleLogits reads its counts for penalties. */
export interface PenaltyState {
  /** Throws ERR_PENALTY_HISTORY on a gap or on a different token at a recorded position. */
  append(token: number, position: number): void;
  truncate(length: number): void;
  countOf(id: number): { prompt: number; output: number };
  readonly length: number;
  readonly promptLen: number;
}

interface NativeSamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  seed: bigint;
  choiceIndex: number;
  logprobs: number;
  logitBiasIds: Int32Array;
  logitBiasValues: Float32Array;
  bannedIds: Int32Array;
  allowedBitmask?: Uint32Array;
}

interface NativeSampling {
  sampleLogits(
    logits: Float32Array,
    params: NativeSamplingParams,
    position: number,
    history?: PenaltyState,
  ): { token: number; logprob: number; top: { ids: Int32Array; logprobs: Float32Array } };
  counterUniform(seed: bigint, choiceIndex: number, position: number, lane: number): number;
  PenaltyState: new (promptLen: number) => PenaltyState;
}

const native = nativeAddon<NativeSampling>();

function paramsError(message: string): Error {
  return Object.assign(new Error(`sampling: ${message}`), { code: 'ERR_SAMPLING_PARAMS' });
}

function toSeed(seed: bigint | number): bigint {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw paramsError(`seed must be an integer, got ${seed}`);
  const value = BigInt(seed);
  if (value < 0n || value >= 1n << 64n) throw paramsError(`seed must be in [0, 2^64), got ${value}`);
  return value;
}

function toIds(values: Iterable<number>, field: string): Int32Array {
  const ids = Int32Array.from(values);
  let j = 0;
  for (const v of values) {
    if (v !== ids[j++]) throw paramsError(`${field} must hold 32-bit integer token ids, got ${v}`);
  }
  return ids;
}

/** new PenaltyState(promptLen): an empty history; positions < promptLen are prompt tokens. */
export const PenaltyState: new (promptLen: number) => PenaltyState = native.PenaltyState;

/** A history holding `tokens` at positions 0.., the first `promptLen` of them prompt. */
export function penaltyStateOf(tokens: ArrayLike<number>, promptLen: number): PenaltyState {
  const state = new PenaltyState(promptLen);
  for (let i = 0; i < tokens.length; ++i) state.append(tokens[i], i);
  return state;
}

/**
 * Samples the token at sequence `position` from one row of logits (synchronous; `logits` is not
 * modified). Throws an Error with `code` ERR_SAMPLING_PARAMS (bad argument), ERR_SAMPLING_NO_TOKEN
 * (nothing left to sample) or ERR_SAMPLING_LOGITS (NaN logits).
 */
export function sampleLogits(
  logits: Float32Array,
  options: SamplingOptions,
  position: number,
  history?: PenaltyState,
): SampledToken {
  const bias = options.logitBias ?? new Map<number, number>();
  const logprobs = options.logprobs ?? -1;
  const result = native.sampleLogits(
    logits,
    {
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      minP: options.minP ?? 0,
      repetitionPenalty: options.repetitionPenalty ?? 1,
      presencePenalty: options.presencePenalty ?? 0,
      frequencyPenalty: options.frequencyPenalty ?? 0,
      seed: toSeed(options.seed ?? 0n),
      choiceIndex: options.choiceIndex ?? 0,
      logprobs,
      logitBiasIds: toIds(bias.keys(), 'logitBias'),
      logitBiasValues: Float32Array.from(bias.values()),
      bannedIds: toIds(Array.from(options.bannedIds ?? []), 'bannedIds'),
      allowedBitmask: options.allowedBitmask,
    },
    position,
    history,
  );
  const top: TokenLogprob[] = [];
  for (let j = 0; j < result.top.ids.length; ++j) top.push({ id: result.top.ids[j], logprob: result.top.logprobs[j] });
  return { token: result.token, logprob: logprobs >= 0 ? result.logprob : null, top };
}

/** The uniform in [0, 1) that seeded sampling draws for (seed, choiceIndex, position); lane 0 = token draw. */
export function counterUniform(seed: bigint | number, choiceIndex: number, position: number, lane = 0): number {
  return native.counterUniform(toSeed(seed), choiceIndex, position, lane);
}
