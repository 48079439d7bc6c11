// Original file: proto/m2/v1/worker.proto

import type { SampledToken as _m2_v1_SampledToken, SampledToken__Output as _m2_v1_SampledToken__Output } from '../../m2/v1/SampledToken.ts';
import type { Long } from '@grpc/proto-loader';

export interface SequenceOutput {
  'seqId'?: (number | string | Long);
  /**
   * One per output index, in order.
   */
  'tokens'?: (_m2_v1_SampledToken)[];
  /**
   * capture_layers.size() x output_indices.size() x hidden f32, little-endian.
   */
  'capturedHidden'?: (Buffer | Uint8Array | string);
}

export interface SequenceOutput__Output {
  'seqId': (number);
  /**
   * One per output index, in order.
   */
  'tokens': (_m2_v1_SampledToken__Output)[];
  /**
   * capture_layers.size() x output_indices.size() x hidden f32, little-endian.
   */
  'capturedHidden': (Buffer);
}
