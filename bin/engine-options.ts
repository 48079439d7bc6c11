// Flags shared by every command that starts a replica (generate, coordinator, serve): the
// engine limits of DESIGN.md with their M2_* env mirrors, parsed into ReplicaOptions.
import { cpus } from 'node:os';
import type { ReplicaOptions } from '../coordinator/runtime/replica.ts';
import { KV_CACHE_DTYPE_OPTIONS } from '../coordinator/runtime/kv-sizing.ts';
import { choiceOpt, CliError, intOpt, stringOpt, type OptionSpec, type ParsedValues } from './command.ts';

export const ENGINE_OPTIONS: OptionSpec = {
  tp: { type: 'string' },
  collective: { type: 'string' },
  device: { type: 'string' },
  'max-model-len': { type: 'string' },
  'max-num-seqs': { type: 'string' },
  'max-num-batched-tokens': { type: 'string' },
  'block-size': { type: 'string' },
  'kv-cache-memory': { type: 'string' },
  'kv-cache-dtype': { type: 'string' },
  threads: { type: 'string' },
  'step-timeout-ms': { type: 'string' },
  'collective-timeout-ms': { type: 'string' },
};

export const ENGINE_USAGE = `Engine options (env: M2_TP, M2_MAX_NUM_SEQS, ...):
  --tp N                      tensor-parallel ranks: 1, 2, 4 or 8 dividing the KV heads (default 1)
  --collective shm|tcp|nccl   all-reduce transport between ranks (default shm; nccl for GPUs)
  --device cpu|cuda|auto      device of every rank (default: each worker's own --device)
  --max-model-len N           longest prompt + output (default: max_position_embeddings,
                              capped by the KV cache)
  --max-num-seqs N            sequences per step (default 256)
  --max-num-batched-tokens N  tokens per step, chunked prefill beyond it (default 2048)
  --block-size N              tokens per KV block (default 16)
  --kv-cache-memory M         KV cache per rank: bytes (4GiB, 512MB) or a fraction of free
                              memory (0.2) (default 1GiB)
  --kv-cache-dtype D          auto|float32|bfloat16|float16: K/V element type (default auto:
                              the checkpoint's dtype on CPU ranks, float32 on CUDA ranks)
  --threads N                 compute threads per rank (default: cores / tp)
  --step-timeout-ms N         deadline of one step on every rank (default 120000)
  --collective-timeout-ms N   deadline of one collective wait (default 10000)`;

export function parseEngineOptions(values: ParsedValues, modelDir: string): ReplicaOptions {
  const tp = intOpt(values, 'tp', 1, 8) ?? 1;
  if (![1, 2, 4, 8].includes(tp)) throw new CliError(`--tp must be 1, 2, 4 or 8, got ${tp}`, 2);
  return {
    modelDir,
    tp,
    collective: choiceOpt(values, 'collective', ['shm', 'tcp', 'nccl'] as const) ?? 'shm',
    device: choiceOpt(values, 'device', ['cpu', 'cuda', 'auto'] as const),
    maxModelLen: intOpt(values, 'max-model-len', 1),
    maxNumSeqs: intOpt(values, 'max-num-seqs', 1) ?? 256,
    maxNumBatchedTokens: intOpt(values, 'max-num-batched-tokens', 1) ?? 2048,
    blockSize: intOpt(values, 'block-size', 1, 1024) ?? 16,
    kvCacheMemory: stringOpt(values, 'kv-cache-memory') ?? '1GiB',
    kvCacheDtype: choiceOpt(values, 'kv-cache-dtype', KV_CACHE_DTYPE_OPTIONS) ?? 'auto',
    threadsPerRank: intOpt(values, 'threads', 1, 1024) ?? Math.max(1, Math.floor(cpus().length / tp)),
    stepTimeoutMs: intOpt(values, 'step-timeout-ms', 1) ?? 120_000,
    loadTimeoutMs: 600_000,
    collectiveTimeoutMs: intOpt(values, 'collective-timeout-ms', 1) ?? 10_000,
  };
}
