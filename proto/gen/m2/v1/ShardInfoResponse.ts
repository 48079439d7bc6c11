// Original file: proto/m2/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface ShardInfoResponse {
  'rank'?: (number);
  'tpSize'?: (number);
  /**
   * Identity of the model: hash of config.json and the index of tensor names/shapes/dtypes.
   */
  'modelFingerprint'?: (string);
  'numLayers'?: (number);
  'layerStart'?: (number);
  'layerEnd'?: (number);
  'vocabSize'?: (number);
  'hiddenSize'?: (number);
  /**
   * Bytes of weights this rank read from disk (its slices only).
   */
  'weightBytesLoaded'?: (number | string | Long);
  /**
   * Bytes of weights this rank reads per decode step.
   */
  'weightBytesPerStep'?: (number | string | Long);
  'numKvBlocks'?: (number);
  'blockSize'?: (number);
  /**
   * "f32", "bf16" or "f16": element type of the KV cache.
   */
  'kvDtype'?: (string);
  'device'?: (string);
}

export interface ShardInfoResponse__Output {
  'rank': (number);
  'tpSize': (number);
  /**
   * Identity of the model: hash of config.json and the index of tensor names/shapes/dtypes.
   */
  'modelFingerprint': (string);
  'numLayers': (number);
  'layerStart': (number);
  'layerEnd': (number);
  'vocabSize': (number);
  'hiddenSize': (number);
  /**
   * Bytes of weights this rank read from disk (its slices only).
   */
  'weightBytesLoaded': (number);
  /**
   * Bytes of weights this rank reads per decode step.
   */
  'weightBytesPerStep': (number);
  'numKvBlocks': (number);
  'blockSize': (number);
  /**
   * "f32", "bf16" or "f16": element type of the KV cache.
   */
  'kvDtype': (string);
  'device': (string);
}
