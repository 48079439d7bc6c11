// Deterministic random weights for make-model. Each tensor draws from its own stream keyed by
// (seed, tensor name), so a layer's weights do not depend on how many layers were made or in
// which order tensors are written.
import type { ModelShape } from './presets.ts';

function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Fills `out` with center + U(-halfWidth, halfWidth) from a xoshiro128** stream. */
export function fillUniform(out: Float32Array, seed: number, name: string, center: number, halfWidth: number): void {
  let a = fnv1a(name, seed) | 1;
  let b = fnv1a(name, seed ^ 0x9e3779b9);
  let c = fnv1a(name, seed ^ 0x85ebca6b);
  let d = fnv1a(name, seed ^ 0xc2b2ae35);
  const scale = (2 * halfWidth) / 4294967296;
  const base = center - halfWidth;
  for (let i = 0; i < out.length; i++) {
    const r = Math.imul(b, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    out[i] = base + result * scale;
  }
}

export interface InitRange {
  center: number;
  halfWidth: number;
}

const SQRT3 = Math.sqrt(3);

function withStd(std: number, center = 0): InitRange {
  return { center, halfWidth: std * SQRT3 };
}

/**
 * Scales chosen so activations keep unit scale through the residual stream and final logits have
 * a standard deviation of ~6 (a tied embedding is scaled for its lm_head role): greedy output varies with context (not one repeated token) and the
 * top1-top2 logit gap is usually far above float rounding (DESIGN.md, Determinism).
 */
export function initRange(name: string, shape: ModelShape, tiedEmbeddings: boolean): InitRange {
  const { hiddenSize, numHeads, intermediateSize } = shape;
  const headDim = hiddenSize / numHeads;
  if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') return withStd(0.1, 1);
  const logitStd = 6 / Math.sqrt(hiddenSize);
  if (name === 'model.embed_tokens.weight') return withStd(tiedEmbeddings ? logitStd : 1);
  if (name === 'lm_head.weight') return withStd(logitStd);
  if (name.endsWith('_proj.bias')) return withStd(0.2);
  if (name.includes('.o_proj.')) return withStd(1 / Math.sqrt(numHeads * headDim));
  if (name.includes('.down_proj.')) return withStd(1 / Math.sqrt(intermediateSize));
  if (name.endsWith('_proj.weight')) return withStd(1 / Math.sqrt(hiddenSize));
  throw new Error(`no initialiser for tensor ${name}`);
}
