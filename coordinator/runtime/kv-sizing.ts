// Sizes the paged KV cache from `--kv-cache-memory` (bytes, or a fraction of the memory free
// after the weights loaded), per rank: each rank holds its share of the KV heads for every layer.
import { freemem } from 'node:os';
import type { ModelConfig } from '../../worker/model/config.ts';
import type { FloatDtypeName } from '../../worker/model/dtype.ts';
import type { TensorDtypeName } from '../../kernels/model.ts';

export class KvSizingError extends Error {
  override readonly name = 'KvSizingError';
}

/** `--kv-cache-dtype`: auto keeps K and V in the checkpoint's dtype (as vLLM does) where the ranks can. */
export type KvCacheDtypeOption = 'auto' | FloatDtypeName;
export const KV_CACHE_DTYPE_OPTIONS: readonly KvCacheDtypeOption[] = ['auto', 'float32', 'bfloat16', 'float16'];

const KV_ELEMENT: Record<FloatDtypeName, TensorDtypeName> = { float32: 'f32', bfloat16: 'bf16', float16: 'f16' };

/**
 * The KV cache element type the ranks get. auto: the checkpoint's dtype on CPU ranks, f32 where
 * the ranks may be CUDA ones (their kernels keep f32); `device` is where the ranks run, as far
 * as the coordinator knows it (undefined: unknown, e.g. remote workers choosing for themselves).
 */
export function resolveKvCacheDtype(option: KvCacheDtypeOption, config: ModelConfig, device: 'cpu' | 'cuda' | undefined): TensorDtypeName {
  if (option !== 'auto') return KV_ELEMENT[option];
  return device === 'cpu' ? KV_ELEMENT[config.torchDtype] : 'f32';
}

/** Bytes one KV block takes on one rank (K and V of every layer). */
export function kvBytesPerBlock(config: ModelConfig, tp: number, blockSize: number, dtype: TensorDtypeName): number {
  return 2 * config.numLayers * (config.numKvHeads / tp) * config.headDim * blockSize * (dtype === 'f32' ? 4 : 2);
}

/** "8GiB", "512MB", "1073741824" -> bytes; "0.3" -> that fraction of free memory. */
export function parseKvMemory(text: string, freeBytes = freemem()): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|m|g|t)?(i)?b?\s*$/i.exec(text);
  if (!m) throw new KvSizingError(`--kv-cache-memory: expected bytes (e.g. 4GiB) or a fraction of free memory (e.g. 0.3), got ${JSON.stringify(text)}`);
  const value = Number(m[1]);
  if (!m[2] && value > 0 && value < 1) return Math.floor(value * freeBytes);
  const unit = m[2] ? (m[3] ? 1024 : 1000) ** ' kmgt'.indexOf(m[2].toLowerCase()) : 1;
  const bytes = Math.floor(value * unit);
  if (bytes <= 0) throw new KvSizingError(`--kv-cache-memory must be positive, got ${JSON.stringify(text)}`);
  return bytes;
}

export interface KvPlan {
  numKvBlocks: number;
  maxModelLen: number;
}

/**
 * Blocks that fit in `kvBytes` per rank, and the max model length: the config's
 * max_position_embeddings (or --max-model-len), capped by what one sequence can hold.
 */
export function planKvCache(config: ModelConfig, tp: number, blockSize: number, kvBytes: number, dtype: TensorDtypeName,
  maxModelLen?: number): KvPlan {
  const perBlock = kvBytesPerBlock(config, tp, blockSize, dtype);
  const numKvBlocks = Math.floor(kvBytes / perBlock);
  if (numKvBlocks < 1) throw new KvSizingError(`--kv-cache-memory ${kvBytes} bytes holds no KV block (one block takes ${perBlock} bytes per rank)`);
  const capacity = numKvBlocks * blockSize;
  const wanted = maxModelLen ?? config.maxPositionEmbeddings;
  if (maxModelLen !== undefined && maxModelLen > config.maxPositionEmbeddings) {
    throw new KvSizingError(`--max-model-len ${maxModelLen} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings}`);
  }
  if (maxModelLen !== undefined && maxModelLen > capacity) {
    throw new KvSizingError(`--max-model-len ${maxModelLen} does not fit the KV cache (${capacity} tokens); raise --kv-cache-memory`);
  }
  return { numKvBlocks, maxModelLen: Math.min(wanted, capacity) };
}
