// Original file: proto/m2/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface StatsResponse {
  'numRunning'?: (number);
  'numWaiting'?: (number);
  /**
   * Fraction of KV blocks in use (0..1).
   */
  'kvCacheUsage'?: (number | string);
  'numKvBlocks'?: (number);
  'blockSize'?: (number);
  /**
   * Hashes of cached full blocks (chained over the prefix), most recent first, capped.
   */
  'cachedBlockHashes'?: (number | string | Long)[];
  /**
   * Ready: all ranks loaded and a step or probe succeeded recently.
   */
  'ready'?: (boolean);
  /**
   * The served model name (what clients put in "model").
   */
  'model'?: (string);
  /**
   * Longest prompt + output one sequence may have (the KV cache may cap the config's).
   */
  'maxModelLen'?: (number);
  /**
   * Tensor-parallel ranks of this replica's group.
   */
  'tpSize'?: (number);
}

export interface StatsResponse__Output {
  'numRunning': (number);
  'numWaiting': (number);
  /**
   * Fraction of KV blocks in use (0..1).
   */
  'kvCacheUsage': (number);
  'numKvBlocks': (number);
  'blockSize': (number);
  /**
   * Hashes of cached full blocks (chained over the prefix), most recent first, capped.
   */
  'cachedBlockHashes': (number)[];
  /**
   * Ready: all ranks loaded and a step or probe succeeded recently.
   */
  'ready': (boolean);
  /**
   * The served model name (what clients put in "model").
   */
  'model': (string);
  /**
   * Longest prompt + output one sequence may have (the KV cache may cap the config's).
   */
  'maxModelLen': (number);
  /**
   * Tensor-parallel ranks of this replica's group.
   */
  'tpSize': (number);
}
