// Original file: proto/m2/v1/worker.proto

import type { SequenceStep as _m2_v1_SequenceStep, SequenceStep__Output as _m2_v1_SequenceStep__Output } from '../../m2/v1/SequenceStep.ts';
import type { Long } from '@grpc/proto-loader';

export interface StepRequest {
  /**
   * Monotonic step counter (diagnostics, and ranks check they run the same step).
   */
  'stepId'?: (number | string | Long);
  /**
   * The flat batch: every sequence's tokens back to back.
   */
  'tokenIds'?: (number)[];
  /**
   * Later pipeline stages take hidden states instead: num_tokens x hidden f32, little-endian.
   */
  'hiddenStates'?: (Buffer | Uint8Array | string);
  'sequences'?: (_m2_v1_SequenceStep)[];
  /**
   * Layer ids whose input hidden states are returned for every output index (EAGLE-3).
   */
  'captureLayers'?: (number)[];
}

export interface StepRequest__Output {
  /**
   * Monotonic step counter (diagnostics, and ranks check they run the same step).
   */
  'stepId': (number);
  /**
   * The flat batch: every sequence's tokens back to back.
   */
  'tokenIds': (number)[];
  /**
   * Later pipeline stages take hidden states instead: num_tokens x hidden f32, little-endian.
   */
  'hiddenStates': (Buffer);
  'sequences': (_m2_v1_SequenceStep__Output)[];
  /**
   * Layer ids whose input hidden states are returned for every output index (EAGLE-3).
   */
  'captureLayers': (number)[];
}
