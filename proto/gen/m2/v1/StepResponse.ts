// Original file: proto/m2/v1/worker.proto

import type { SequenceOutput as _m2_v1_SequenceOutput, SequenceOutput__Output as _m2_v1_SequenceOutput__Output } from '../../m2/v1/SequenceOutput.ts';
import type { StepTimings as _m2_v1_StepTimings, StepTimings__Output as _m2_v1_StepTimings__Output } from '../../m2/v1/StepTimings.ts';
import type { Long } from '@grpc/proto-loader';

export interface StepResponse {
  'stepId'?: (number | string | Long);
  'rank'?: (number);
  /**
   * Filled by rank 0 only (other ranks return timings).
   */
  'outputs'?: (_m2_v1_SequenceOutput)[];
  'timings'?: (_m2_v1_StepTimings | null);
}

export interface StepResponse__Output {
  'stepId': (number);
  'rank': (number);
  /**
   * Filled by rank 0 only (other ranks return timings).
   */
  'outputs': (_m2_v1_SequenceOutput__Output)[];
  'timings': (_m2_v1_StepTimings__Output | null);
}
