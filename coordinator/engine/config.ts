// The engine's limits as one typed, validated object (DESIGN.md "Engine limits"): the CLI flags
// and M2_* variables are parsed elsewhere and land here, so every limit is checked once, at start.
import { EngineError } from './errors.ts';

export interface EngineConfig {
  /** Tokens per KV block. */
  blockSize: number;
  /** KV blocks in the pool (sized from KV memory after the weights loaded). */
  numKvBlocks: number;
  /** Longest prompt + output of one sequence; at most numKvBlocks * blockSize. */
  maxModelLen: number;
  /** Most sequences in one step. */
  maxNumSeqs: number;
  /** Most tokens in one step (decodes plus prefill chunks). */
  maxNumBatchedTokens: number;
  /** Most requests waiting for admission; one more is refused with RESOURCE_EXHAUSTED. */
  maxWaitingRequests: number;
  /** End-of-sequence ids of the model (generation_config's eos_token_id, possibly several). */
  eosTokenIds: readonly number[];
  /** Vocabulary size, to reject prompt ids the model cannot embed. */
  vocabSize: number;
  /** Most prefix-cache block hashes reported by stats() (for routing). */
  maxReportedBlockHashes: number;
}

export type EngineConfigInput = Pick<EngineConfig, 'numKvBlocks' | 'maxModelLen' | 'eosTokenIds' | 'vocabSize'> &
  Partial<EngineConfig>;

export const ENGINE_DEFAULTS = {
  blockSize: 16,
  maxNumSeqs: 256,
  maxNumBatchedTokens: 2048,
  maxWaitingRequests: 1024,
  maxReportedBlockHashes: 4096,
} as const;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EngineError('INVALID_ARGUMENT', `engine config: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Fills defaults and checks every limit; throws EngineError('INVALID_ARGUMENT') naming the bad field. */
export function resolveEngineConfig(input: EngineConfigInput): EngineConfig {
  const config: EngineConfig = {
    blockSize: positiveInteger('blockSize', input.blockSize ?? ENGINE_DEFAULTS.blockSize),
    numKvBlocks: positiveInteger('numKvBlocks', input.numKvBlocks),
    maxModelLen: positiveInteger('maxModelLen', input.maxModelLen),
    maxNumSeqs: positiveInteger('maxNumSeqs', input.maxNumSeqs ?? ENGINE_DEFAULTS.maxNumSeqs),
    maxNumBatchedTokens: positiveInteger(
      'maxNumBatchedTokens',
      input.maxNumBatchedTokens ?? ENGINE_DEFAULTS.maxNumBatchedTokens,
    ),
    maxWaitingRequests: positiveInteger('maxWaitingRequests', input.maxWaitingRequests ?? ENGINE_DEFAULTS.maxWaitingRequests),
    eosTokenIds: [...input.eosTokenIds],
    vocabSize: positiveInteger('vocabSize', input.vocabSize),
    maxReportedBlockHashes: positiveInteger(
      'maxReportedBlockHashes',
      input.maxReportedBlockHashes ?? ENGINE_DEFAULTS.maxReportedBlockHashes,
    ),
  };
  const kvTokens = config.numKvBlocks * config.blockSize;
  if (config.maxModelLen > kvTokens) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `engine config: maxModelLen ${config.maxModelLen} exceeds the KV cache (${config.numKvBlocks} blocks x ` +
        `${config.blockSize} tokens = ${kvTokens}); lower --max-model-len or give the KV cache more memory`,
    );
  }
  for (const id of config.eosTokenIds) {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new EngineError('INVALID_ARGUMENT', `engine config: eos token id ${String(id)} outside [0, ${config.vocabSize})`);
    }
  }
  return config;
}
