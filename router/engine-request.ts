// Turns a validated request (prompt ids + GenerationOptions) into the coordinator's
// EngineGenerateRequest, after the context-length checks that need the prompt length: the
// coordinator receives every field defaulted and bounded (DESIGN.md: the router validates).
import type { ThinkingMode } from '../coordinator/text/chat-template.ts';
import { THINK_START_ID } from '../coordinator/text/tokenizer.ts';
import type { EngineGenerateRequest } from '../proto/gen/m2/v1/EngineGenerateRequest.ts';
import { ApiError, badParam } from './api-error.ts';
import type { GenerationOptions } from './generation-params.ts';

export interface PromptInput {
  tokenIds: number[];
  /** Which request field the prompt came from, for error messages ("messages", "prompt", ...). */
  field: string;
  /** The chat template's thinking mode; null for a raw prompt (no template: all output is content). */
  thinkingMode: ThinkingMode | null;
}

function contextExceeded(param: string, message: string): ApiError {
  return new ApiError(400, 'invalid_request_error', message, param, 'context_length_exceeded');
}

/** The output budget: what was asked, bounded by the context; throws when the prompt leaves none. */
export function resolveMaxTokens(prompt: PromptInput, options: GenerationOptions, maxModelLen: number): number {
  const promptLen = prompt.tokenIds.length;
  if (promptLen === 0) throw badParam(prompt.field, 'the prompt is empty');
  if (promptLen >= maxModelLen) {
    throw contextExceeded(prompt.field, `This model's maximum context length is ${maxModelLen} tokens; the prompt has ${promptLen} tokens, leaving no room for output.`);
  }
  if (options.maxTokens === undefined) return maxModelLen - promptLen;
  if (promptLen + options.maxTokens > maxModelLen) {
    throw contextExceeded('max_tokens', `This model's maximum context length is ${maxModelLen} tokens; the prompt has ${promptLen} tokens and max_tokens asks for ${options.maxTokens} more.`);
  }
  return options.maxTokens;
}

export function buildEngineRequest(
  requestId: string,
  sessionId: string,
  prompt: PromptInput,
  options: GenerationOptions,
  maxModelLen: number,
): EngineGenerateRequest {
  const maxTokens = resolveMaxTokens(prompt, options, maxModelLen);
  if (options.minTokens > maxTokens) throw badParam('min_tokens', `must not exceed the output budget of ${maxTokens} tokens`);
  return {
    requestId,
    promptTokenIds: prompt.tokenIds,
    sessionId,
    params: {
      n: options.n,
      maxTokens,
      minTokens: options.minTokens,
      ignoreEos: options.ignoreEos,
      stop: options.stop,
      stopTokenIds: options.stopTokenIds,
      includeSpecialTokens: !options.skipSpecialTokens,
      seedUnset: options.seed === undefined,
      sampling: {
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        minP: options.minP,
        repetitionPenalty: options.repetitionPenalty,
        presencePenalty: options.presencePenalty,
        frequencyPenalty: options.frequencyPenalty,
        seed: options.seed ?? '0',
        logprobs: options.logprobs,
        logitBiasIds: [...options.logitBias.keys()],
        logitBiasValues: [...options.logitBias.values()],
        // With thinking off the answer must not open a think block (DESIGN.md, thinking control).
        bannedIds: prompt.thinkingMode === 'off' ? [THINK_START_ID] : [],
      },
    },
  };
}
