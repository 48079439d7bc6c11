// Original file: proto/m2/v1/worker.proto

import type { TokenLogprob as _m2_v1_TokenLogprob, TokenLogprob__Output as _m2_v1_TokenLogprob__Output } from '../../m2/v1/TokenLogprob.ts';

/**
 * Result of one sampled position.
 */
export interface SampledToken {
  'tokenId'?: (number);
  /**
   * Log-probability of token_id under the raw (pre-penalty, temperature 1) distribution.
   */
  'logprob'?: (number | string);
  /**
   * Top alternatives, best first, when logprobs > 0 was asked.
   */
  'topLogprobs'?: (_m2_v1_TokenLogprob)[];
}

/**
 * Result of one sampled position.
 */
export interface SampledToken__Output {
  'tokenId': (number);
  /**
   * Log-probability of token_id under the raw (pre-penalty, temperature 1) distribution.
   */
  'logprob': (number);
  /**
   * Top alternatives, best first, when logprobs > 0 was asked.
   */
  'topLogprobs': (_m2_v1_TokenLogprob__Output)[];
}
