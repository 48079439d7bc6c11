// Single native kernels, synchronous, for unit tests against reference implementations and for
// micro-benchmarks. The forward pass (kernels/model.ts) runs the same code without these hops.
import { nativeAddon } from './addon.ts';
import type { TensorDtypeName } from './model.ts';

export interface AttentionSequenceInput {
  numTokens: number;
  /** Cached positions [0, contextLen) read through blockTable. */
  contextLen: number;
  blockTable: Int32Array;
  /** Cache slots of the step's numTokens rows (already written). */
  slots: Int32Array;
  treeMask?: Uint8Array;
}

export interface PagedAttentionInput {
  /** [tokens, qHeads * headDim] */
  q: Float32Array;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  blockSize: number;
  /** [numBlocks, kvHeads, blockSize, headDim] each (a kv head's page is contiguous): f32 values,
   * or bf16/f16 bit patterns when kvDtype says so. */
  kCache: Float32Array | Uint16Array;
  vCache: Float32Array | Uint16Array;
  /** Element type of the caches (default float32). */
  kvDtype?: 'float32' | 'bfloat16' | 'float16';
  sequences: AttentionSequenceInput[];
  threads: number;
}

export interface KernelOps {
  /** y[rows, outFeatures] = x W^T + bias, W [outFeatures, inFeatures] in `dtype`. */
  linear(x: Float32Array, rows: number, weights: Uint8Array, dtype: TensorDtypeName, outFeatures: number,
    inFeatures: number, bias: Float32Array | null, threads: number): Float32Array;
  /** Rows of W [outFeatures, inFeatures] in `dtype`, as f32, read back from the packed layout. */
  packedRows(weights: Uint8Array, dtype: TensorDtypeName, outFeatures: number, inFeatures: number, rows: Int32Array): Float32Array;
  rmsNorm(x: Float32Array, weight: Float32Array, eps: number, rows: number): Float32Array;
  /** Rotate-half RoPE of one token's `heads` heads at `position`. */
  rope(x: Float32Array, heads: number, invFreq: Float32Array, attentionScaling: number, position: number): Float32Array;
  pagedAttention(input: PagedAttentionInput): Float32Array;
}

export const kernelOps: KernelOps = nativeAddon<{ kernelOps: KernelOps }>().kernelOps;
