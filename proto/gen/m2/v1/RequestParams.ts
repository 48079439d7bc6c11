// Original file: proto/m2/v1/coordinator.proto

import type { SamplingParams as _m2_v1_SamplingParams, SamplingParams__Output as _m2_v1_SamplingParams__Output } from '../../m2/v1/SamplingParams.ts';

/**
 * Per-request sampling and stopping (the router validated and defaulted every field).
 */
export interface RequestParams {
  /**
   * Sampling as the worker applies it (seed, logprobs, bias, penalties...). choice_index is
   * set per choice by the coordinator.
   */
  'sampling'?: (_m2_v1_SamplingParams | null);
  /**
   * Independent choices sampled from the same prompt (they share its prefix blocks).
   */
  'n'?: (number);
  /**
   * Output token limit per choice.
   */
  'maxTokens'?: (number);
  /**
   * EOS and stop ids are banned until this many tokens were generated.
   */
  'minTokens'?: (number);
  /**
   * Keep generating through EOS (max_tokens still applies).
   */
  'ignoreEos'?: (boolean);
  /**
   * Text stop sequences: output ends before the first occurrence (not included).
   */
  'stop'?: (string)[];
  /**
   * Token ids that end a choice (included in token ids, not in text).
   */
  'stopTokenIds'?: (number)[];
  /**
   * Keep special tokens in the text (default false: skipped).
   */
  'includeSpecialTokens'?: (boolean);
  /**
   * Set when the seed was not given: the coordinator draws one per request.
   */
  'seedUnset'?: (boolean);
}

/**
 * Per-request sampling and stopping (the router validated and defaulted every field).
 */
export interface RequestParams__Output {
  /**
   * Sampling as the worker applies it (seed, logprobs, bias, penalties...). choice_index is
   * set per choice by the coordinator.
   */
  'sampling': (_m2_v1_SamplingParams__Output | null);
  /**
   * Independent choices sampled from the same prompt (they share its prefix blocks).
   */
  'n': (number);
  /**
   * Output token limit per choice.
   */
  'maxTokens': (number);
  /**
   * EOS and stop ids are banned until this many tokens were generated.
   */
  'minTokens': (number);
  /**
   * Keep generating through EOS (max_tokens still applies).
   */
  'ignoreEos': (boolean);
  /**
   * Text stop sequences: output ends before the first occurrence (not included).
   */
  'stop': (string)[];
  /**
   * Token ids that end a choice (included in token ids, not in text).
   */
  'stopTokenIds': (number)[];
  /**
   * Keep special tokens in the text (default false: skipped).
   */
  'includeSpecialTokens': (boolean);
  /**
   * Set when the seed was not given: the coordinator draws one per request.
   */
  'seedUnset': (boolean);
}
