// Original file: proto/m2/v1/worker.proto

import type { ShardInfoResponse as _m2_v1_ShardInfoResponse, ShardInfoResponse__Output as _m2_v1_ShardInfoResponse__Output } from '../../m2/v1/ShardInfoResponse.ts';

export interface LoadResponse {
  'shard'?: (_m2_v1_ShardInfoResponse | null);
  /**
   * Seconds spent loading weights.
   */
  'loadSeconds'?: (number | string);
}

export interface LoadResponse__Output {
  'shard': (_m2_v1_ShardInfoResponse__Output | null);
  /**
   * Seconds spent loading weights.
   */
  'loadSeconds': (number);
}
