// Checks an EngineGenerateRequest against the engine's limits and resolves every field to a concrete
// value once, at admission (proto3 cannot tell 0 from unset, so the documented "off" values are
// filled here), so the rest of the engine never sees an optional field or a bad id.
import type { Long } from '@grpc/proto-loader';
import type { EngineGenerateRequest } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { SamplingParams, SamplingParams__Output } from '../../proto/gen/m2/v1/SamplingParams.ts';
import type { EngineConfig } from './config.ts';
import { EngineError } from './errors.ts';

export interface ResolvedRequest {
  requestId: string;
  promptTokenIds: number[];
  n: number;
  maxTokens: number;
  minTokens: number;
  ignoreEos: boolean;
  stop: string[];
  stopTokenIds: number[];
  includeSpecialTokens: boolean;
  /** Request-level sampling with the seed resolved; choice_index is set per choice. */
  sampling: SamplingParams__Output;
}

function invalid(message: string): EngineError {
  return new EngineError('INVALID_ARGUMENT', message);
}

function contextExceeded(message: string): EngineError {
  return new EngineError('OUT_OF_RANGE', message);
}

function toNumber(value: number | string | Long | null | undefined, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'object') return value.toNumber();
  return Number(value);
}

function checkTokenIds(ids: readonly number[], vocabSize: number, field: string): number[] {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw invalid(`${field}: token id ${String(id)} outside the vocabulary [0, ${vocabSize})`);
    }
  }
  return [...ids];
}

function resolveSampling(sampling: SamplingParams | null | undefined, seed: number): SamplingParams__Output {
  const s = sampling ?? {};
  const topP = toNumber(s.topP, 1);
  const repetitionPenalty = toNumber(s.repetitionPenalty, 1);
  return {
    temperature: toNumber(s.temperature, 0),
    topK: s.topK ?? 0,
    // 0 is no valid value for either: proto3's unset means off.
    topP: topP === 0 ? 1 : topP,
    minP: toNumber(s.minP, 0),
    repetitionPenalty: repetitionPenalty === 0 ? 1 : repetitionPenalty,
    presencePenalty: toNumber(s.presencePenalty, 0),
    frequencyPenalty: toNumber(s.frequencyPenalty, 0),
    seed,
    choiceIndex: 0,
    logprobs: s.logprobs ?? -1,
    logitBiasIds: [...(s.logitBiasIds ?? [])],
    logitBiasValues: (s.logitBiasValues ?? []).map((v) => toNumber(v, 0)),
    bannedIds: [...(s.bannedIds ?? [])],
    allowedBitmask: [...(s.allowedBitmask ?? [])],
  };
}

/**
 * Resolves `request` or throws EngineError('INVALID_ARGUMENT', or 'OUT_OF_RANGE' for the context
 * length) with a message for the user.
 * `drawSeed` gives the seed of a request whose seed_unset is set.
 */
export function resolveRequest(request: EngineGenerateRequest, config: EngineConfig, drawSeed: () => number): ResolvedRequest {
  const requestId = request.requestId ?? '';
  if (requestId === '') throw invalid('request_id must not be empty');
  const promptTokenIds = checkTokenIds(request.promptTokenIds ?? [], config.vocabSize, 'prompt_token_ids');
  if (promptTokenIds.length === 0) throw invalid('prompt_token_ids must not be empty');
  const params = request.params ?? {};
  const promptLen = promptTokenIds.length;
  if (promptLen >= config.maxModelLen) {
    throw contextExceeded(
      `This model's maximum context length is ${config.maxModelLen} tokens; the prompt has ${promptLen} ` +
        'tokens, leaving no room for output. Shorten the prompt.',
    );
  }
  const maxTokens = params.maxTokens || config.maxModelLen - promptLen;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw invalid(`max_tokens must be a positive integer, got ${maxTokens}`);
  if (promptLen + maxTokens > config.maxModelLen) {
    throw contextExceeded(
      `This model's maximum context length is ${config.maxModelLen} tokens. However, you requested ` +
        `${promptLen + maxTokens} tokens (${promptLen} in the prompt, ${maxTokens} for the completion). ` +
        'Reduce the prompt or max_tokens.',
    );
  }
  const minTokens = params.minTokens ?? 0;
  if (!Number.isInteger(minTokens) || minTokens < 0) throw invalid(`min_tokens must be a non-negative integer, got ${minTokens}`);
  if (minTokens > maxTokens) throw invalid(`min_tokens (${minTokens}) must not exceed max_tokens (${maxTokens})`);
  const n = params.n || 1;
  if (!Number.isInteger(n) || n > config.maxNumSeqs) {
    throw invalid(`n must be an integer in [1, ${config.maxNumSeqs}] (the engine's max_num_seqs), got ${n}`);
  }
  const stop = [...(params.stop ?? [])];
  if (stop.some((s) => s === '')) throw invalid('stop strings must not be empty');
  const seed = params.seedUnset ? drawSeed() : toNumber(params.sampling?.seed, 0);
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalid(`seed must be an integer in [0, 2^53), got ${seed}`);
  return {
    requestId,
    promptTokenIds,
    n,
    maxTokens,
    minTokens,
    ignoreEos: params.ignoreEos ?? false,
    stop,
    stopTokenIds: checkTokenIds(params.stopTokenIds ?? [], config.vocabSize, 'stop_token_ids'),
    includeSpecialTokens: params.includeSpecialTokens ?? false,
    sampling: resolveSampling(params.sampling, seed),
  };
}
