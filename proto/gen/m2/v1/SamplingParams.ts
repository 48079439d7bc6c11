// Original file: proto/m2/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Sampling parameters of one sequence, applied by rank 0 at each returned position.
 */
export interface SamplingParams {
  /**
   * 0 = greedy (argmax; lowest id wins ties).
   */
  'temperature'?: (number | string);
  /**
   * 0 = off.
   */
  'topK'?: (number);
  /**
   * 1 = off.
   */
  'topP'?: (number | string);
  /**
   * 0 = off; relative to the most likely token's probability.
   */
  'minP'?: (number | string);
  /**
   * 1 = off; over prompt and output tokens (HF semantics).
   */
  'repetitionPenalty'?: (number | string);
  /**
   * 0 = off; over output tokens.
   */
  'presencePenalty'?: (number | string);
  'frequencyPenalty'?: (number | string);
  /**
   * Request seed; with choice_index and the output position it keys the counter-based RNG,
   * so seeded sampling gives the same tokens alone or in any batch.
   */
  'seed'?: (number | string | Long);
  /**
   * Which of the request's n choices this sequence is.
   */
  'choiceIndex'?: (number);
  /**
   * -1 = none; 0 = the sampled token's logprob; k <= 20 = also the top k.
   */
  'logprobs'?: (number);
  /**
   * Added to the logits of these token ids before sampling.
   */
  'logitBiasIds'?: (number)[];
  'logitBiasValues'?: (number | string)[];
  /**
   * Never sampled (EOS under min_tokens / ignore_eos, <think> with thinking off).
   */
  'bannedIds'?: (number)[];
  /**
   * Constrained decoding: bit i of word i/32 set = token i allowed. Empty = all allowed.
   */
  'allowedBitmask'?: (number)[];
}

/**
 * Sampling parameters of one sequence, applied by rank 0 at each returned position.
 */
export interface SamplingParams__Output {
  /**
   * 0 = greedy (argmax; lowest id wins ties).
   */
  'temperature': (number);
  /**
   * 0 = off.
   */
  'topK': (number);
  /**
   * 1 = off.
   */
  'topP': (number);
  /**
   * 0 = off; relative to the most likely token's probability.
   */
  'minP': (number);
  /**
   * 1 = off; over prompt and output tokens (HF semantics).
   */
  'repetitionPenalty': (number);
  /**
   * 0 = off; over output tokens.
   */
  'presencePenalty': (number);
  'frequencyPenalty': (number);
  /**
   * Request seed; with choice_index and the output position it keys the counter-based RNG,
   * so seeded sampling gives the same tokens alone or in any batch.
   */
  'seed': (number);
  /**
   * Which of the request's n choices this sequence is.
   */
  'choiceIndex': (number);
  /**
   * -1 = none; 0 = the sampled token's logprob; k <= 20 = also the top k.
   */
  'logprobs': (number);
  /**
   * Added to the logits of these token ids before sampling.
   */
  'logitBiasIds': (number)[];
  'logitBiasValues': (number)[];
  /**
   * Never sampled (EOS under min_tokens / ignore_eos, <think> with thinking off).
   */
  'bannedIds': (number)[];
  /**
   * Constrained decoding: bit i of word i/32 set = token i allowed. Empty = all allowed.
   */
  'allowedBitmask': (number)[];
}
