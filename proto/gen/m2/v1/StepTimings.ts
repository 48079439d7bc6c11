// Original file: proto/m2/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface StepTimings {
  /**
   * Wall time of the native forward call on this rank.
   */
  'forwardNs'?: (number | string | Long);
  /**
   * Time spent inside collectives during the step.
   */
  'collectiveNs'?: (number | string | Long);
  /**
   * Time spent sampling (rank 0).
   */
  'sampleNs'?: (number | string | Long);
}

export interface StepTimings__Output {
  /**
   * Wall time of the native forward call on this rank.
   */
  'forwardNs': (number);
  /**
   * Time spent inside collectives during the step.
   */
  'collectiveNs': (number);
  /**
   * Time spent sampling (rank 0).
   */
  'sampleNs': (number);
}
