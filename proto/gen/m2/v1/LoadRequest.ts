// Original file: proto/m2/v1/worker.proto

import type { CollectiveKind as _m2_v1_CollectiveKind, CollectiveKind__Output as _m2_v1_CollectiveKind__Output } from '../../m2/v1/CollectiveKind.ts';

export interface LoadRequest {
  /**
   * Model folder in HF layout (config.json, safetensors, tokenizer files).
   */
  'modelDir'?: (string);
  /**
   * This worker's rank in [0, tp_size).
   */
  'rank'?: (number);
  /**
   * Tensor-parallel size of the group: 1, 2, 4 or 8 and dividing the KV heads.
   */
  'tpSize'?: (number);
  /**
   * First and one-past-last decoder layer this rank owns (pipeline stages); 0/0 = all.
   */
  'layerStart'?: (number);
  'layerEnd'?: (number);
  'collective'?: (_m2_v1_CollectiveKind);
  /**
   * Shared-memory segment name (SHM) or the group's id (NCCL unique-id exchange).
   */
  'collectiveName'?: (string);
  /**
   * host:port of every rank, in rank order (TCP).
   */
  'collectiveAddresses'?: (string)[];
  /**
   * Deadline for every collective wait, milliseconds. A dead peer fails the step.
   */
  'collectiveTimeoutMs'?: (number);
  /**
   * KV cache blocks to allocate and tokens per block (the coordinator sized them).
   */
  'numKvBlocks'?: (number);
  'blockSize'?: (number);
  /**
   * Largest number of tokens in one step (scratch buffers are sized once, at load).
   */
  'maxBatchedTokens'?: (number);
  /**
   * Largest number of sequences in one step.
   */
  'maxNumSeqs'?: (number);
  /**
   * Compute threads for this rank (0 = one per core available to the process).
   */
  'threads'?: (number);
  /**
   * "cpu" or "cuda".
   */
  'device'?: (string);
  /**
   * Longest sequence (prompt + output) the coordinator will schedule, in tokens.
   */
  'maxModelLen'?: (number);
  /**
   * Element type of the KV cache: "f32", "bf16" or "f16" ("" = f32). The coordinator sized
   * num_kv_blocks for it; CUDA ranks keep f32 only.
   */
  'kvCacheDtype'?: (string);
}

export interface LoadRequest__Output {
  /**
   * Model folder in HF layout (config.json, safetensors, tokenizer files).
   */
  'modelDir': (string);
  /**
   * This worker's rank in [0, tp_size).
   */
  'rank': (number);
  /**
   * Tensor-parallel size of the group: 1, 2, 4 or 8 and dividing the KV heads.
   */
  'tpSize': (number);
  /**
   * First and one-past-last decoder layer this rank owns (pipeline stages); 0/0 = all.
   */
  'layerStart': (number);
  'layerEnd': (number);
  'collective': (_m2_v1_CollectiveKind__Output);
  /**
   * Shared-memory segment name (SHM) or the group's id (NCCL unique-id exchange).
   */
  'collectiveName': (string);
  /**
   * host:port of every rank, in rank order (TCP).
   */
  'collectiveAddresses': (string)[];
  /**
   * Deadline for every collective wait, milliseconds. A dead peer fails the step.
   */
  'collectiveTimeoutMs': (number);
  /**
   * KV cache blocks to allocate and tokens per block (the coordinator sized them).
   */
  'numKvBlocks': (number);
  'blockSize': (number);
  /**
   * Largest number of tokens in one step (scratch buffers are sized once, at load).
   */
  'maxBatchedTokens': (number);
  /**
   * Largest number of sequences in one step.
   */
  'maxNumSeqs': (number);
  /**
   * Compute threads for this rank (0 = one per core available to the process).
   */
  'threads': (number);
  /**
   * "cpu" or "cuda".
   */
  'device': (string);
  /**
   * Longest sequence (prompt + output) the coordinator will schedule, in tokens.
   */
  'maxModelLen': (number);
  /**
   * Element type of the KV cache: "f32", "bf16" or "f16" ("" = f32). The coordinator sized
   * num_kv_blocks for it; CUDA ranks keep f32 only.
   */
  'kvCacheDtype': (string);
}
