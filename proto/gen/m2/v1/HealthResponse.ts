// Original file: proto/m2/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface HealthResponse {
  /**
   * Weights loaded and collective joined.
   */
  'loaded'?: (boolean);
  /**
   * Milliseconds since the last successful step or probe (-1 if none yet).
   */
  'msSinceLastStep'?: (number | string | Long);
  /**
   * Last step error, empty when healthy.
   */
  'lastError'?: (string);
}

export interface HealthResponse__Output {
  /**
   * Weights loaded and collective joined.
   */
  'loaded': (boolean);
  /**
   * Milliseconds since the last successful step or probe (-1 if none yet).
   */
  'msSinceLastStep': (number);
  /**
   * Last step error, empty when healthy.
   */
  'lastError': (string);
}
