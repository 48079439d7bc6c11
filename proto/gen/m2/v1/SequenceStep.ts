// Original file: proto/m2/v1/worker.proto

import type { SamplingParams as _m2_v1_SamplingParams, SamplingParams__Output as _m2_v1_SamplingParams__Output } from '../../m2/v1/SamplingParams.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One sequence's slice of the flat token batch.
 */
export interface SequenceStep {
  /**
   * Coordinator-wide sequence id (request id + choice).
   */
  'seqId'?: (number | string | Long);
  /**
   * Offset and length of this sequence's tokens in StepRequest.token_ids (or hidden rows).
   */
  'tokenOffset'?: (number);
  'numTokens'?: (number);
  /**
   * Position of the first token; tokens are at positions start_position + i.
   */
  'startPosition'?: (number);
  /**
   * Prompt length: positions below it are prompt tokens (repetition-penalty history).
   */
  'promptLen'?: (number);
  /**
   * KV block ids, in order, covering positions [0, start_position + num_tokens).
   */
  'blockTable'?: (number)[];
  /**
   * Indices (within this sequence's tokens) whose next token is sampled and returned:
   * the last one for prefill/decode, k+1 for speculative verification, none for a
   * prefill chunk that does not end the prompt.
   */
  'outputIndices'?: (number)[];
  /**
   * Optional tree attention among this step's tokens (speculative trees): num_tokens x
   * num_tokens row-major bits (row i may attend token j), packed LSB-first. Empty = causal.
   */
  'treeMask'?: (Buffer | Uint8Array | string);
  'sampling'?: (_m2_v1_SamplingParams | null);
}

/**
 * One sequence's slice of the flat token batch.
 */
export interface SequenceStep__Output {
  /**
   * Coordinator-wide sequence id (request id + choice).
   */
  'seqId': (number);
  /**
   * Offset and length of this sequence's tokens in StepRequest.token_ids (or hidden rows).
   */
  'tokenOffset': (number);
  'numTokens': (number);
  /**
   * Position of the first token; tokens are at positions start_position + i.
   */
  'startPosition': (number);
  /**
   * Prompt length: positions below it are prompt tokens (repetition-penalty history).
   */
  'promptLen': (number);
  /**
   * KV block ids, in order, covering positions [0, start_position + num_tokens).
   */
  'blockTable': (number)[];
  /**
   * Indices (within this sequence's tokens) whose next token is sampled and returned:
   * the last one for prefill/decode, k+1 for speculative verification, none for a
   * prefill chunk that does not end the prompt.
   */
  'outputIndices': (number)[];
  /**
   * Optional tree attention among this step's tokens (speculative trees): num_tokens x
   * num_tokens row-major bits (row i may attend token j), packed LSB-first. Empty = causal.
   */
  'treeMask': (Buffer);
  'sampling': (_m2_v1_SamplingParams__Output | null);
}
