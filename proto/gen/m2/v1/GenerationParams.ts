// Original file: proto/m2/v1/generate.proto

import type { Long } from '@grpc/proto-loader';

export interface GenerationParams {
  /**
   * Output token limit (default: up to the context length).
   */
  'maxTokens'?: (number);
  'minTokens'?: (number);
  /**
   * Sampling; unset fields take the model's generation_config defaults.
   */
  'temperature'?: (number | string);
  'topP'?: (number | string);
  'topK'?: (number);
  'minP'?: (number | string);
  'repetitionPenalty'?: (number | string);
  'presencePenalty'?: (number | string);
  'frequencyPenalty'?: (number | string);
  /**
   * Seeded requests give the same output alone or batched.
   */
  'seed'?: (number | string | Long);
  /**
   * Independent choices.
   */
  'n'?: (number);
  'stop'?: (string)[];
  'stopTokenIds'?: (number)[];
  'ignoreEos'?: (boolean);
  /**
   * Logprobs of each sampled token, and the top k alternatives (k <= 20).
   */
  'logprobs'?: (boolean);
  'topLogprobs'?: (number);
  /**
   * Token id -> bias added to its logit (-100..100).
   */
  'logitBias'?: ({[key: number]: number | string});
  /**
   * Keep special tokens (e.g. <|im_end|>) in the text; default false.
   */
  'includeSpecialTokens'?: (boolean);
  '_maxTokens'?: "maxTokens";
  '_minTokens'?: "minTokens";
  '_temperature'?: "temperature";
  '_topP'?: "topP";
  '_topK'?: "topK";
  '_minP'?: "minP";
  '_repetitionPenalty'?: "repetitionPenalty";
  '_presencePenalty'?: "presencePenalty";
  '_frequencyPenalty'?: "frequencyPenalty";
  '_seed'?: "seed";
  '_n'?: "n";
}

export interface GenerationParams__Output {
  /**
   * Output token limit (default: up to the context length).
   */
  'maxTokens'?: (number);
  'minTokens'?: (number);
  /**
   * Sampling; unset fields take the model's generation_config defaults.
   */
  'temperature'?: (number);
  'topP'?: (number);
  'topK'?: (number);
  'minP'?: (number);
  'repetitionPenalty'?: (number);
  'presencePenalty'?: (number);
  'frequencyPenalty'?: (number);
  /**
   * Seeded requests give the same output alone or batched.
   */
  'seed'?: (number);
  /**
   * Independent choices.
   */
  'n'?: (number);
  'stop': (string)[];
  'stopTokenIds': (number)[];
  'ignoreEos': (boolean);
  /**
   * Logprobs of each sampled token, and the top k alternatives (k <= 20).
   */
  'logprobs': (boolean);
  'topLogprobs': (number);
  /**
   * Token id -> bias added to its logit (-100..100).
   */
  'logitBias': ({[key: number]: number});
  /**
   * Keep special tokens (e.g. <|im_end|>) in the text; default false.
   */
  'includeSpecialTokens': (boolean);
  '_maxTokens'?: "maxTokens";
  '_minTokens'?: "minTokens";
  '_temperature'?: "temperature";
  '_topP'?: "topP";
  '_topK'?: "topK";
  '_minP'?: "minP";
  '_repetitionPenalty'?: "repetitionPenalty";
  '_presencePenalty'?: "presencePenalty";
  '_frequencyPenalty'?: "frequencyPenalty";
  '_seed'?: "seed";
  '_n'?: "n";
}
