// Rotary-embedding tables from the model config, computed the way HF transformers computes them
// (float32 at each step), so positions rotate identically here and in the reference. The native
// forward pass only multiplies positions by these frequencies.
import type { ModelConfig } from '../model/config.ts';

export interface RopeTables {
  /** head_dim / 2 inverse frequencies. */
  invFreq: Float32Array;
  /** Scales cos and sin (YaRN's attention factor; 1 without scaling). */
  attentionScaling: number;
}

const f32 = Math.fround;

/** base^(2i/dim) for i < dim/2, in float32 like `base ** (arange(0, dim, 2).float() / dim)`. */
function positionFrequencies(base: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; ++i) out[i] = f32(base ** f32((2 * i) / dim));
  return out;
}

export function ropeTables(config: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): RopeTables {
  const dim = config.headDim;
  const posFreqs = positionFrequencies(config.ropeTheta, dim);
  const scaling = config.ropeScaling;
  if (!scaling) return { invFreq: posFreqs.map((p) => f32(1 / p)), attentionScaling: 1 };
  // HF _compute_yarn_parameters: blend interpolated (/ factor) and extrapolated frequencies with a
  // linear ramp between the correction dims of beta_fast and beta_slow rotations.
  const base = config.ropeTheta;
  const correctionDim = (rotations: number): number =>
    (dim * Math.log(scaling.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  const low = Math.max(Math.floor(correctionDim(scaling.betaFast)), 0);
  let high = Math.min(Math.ceil(correctionDim(scaling.betaSlow)), dim - 1);
  if (low === high) high += 0.001;
  const invFreq = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; ++i) {
    const ramp = Math.min(Math.max(f32(f32(i - low) / f32(high - low)), 0), 1);
    const extrapolationFactor = f32(1 - ramp);
    const extrapolation = f32(1 / posFreqs[i]);
    const interpolation = f32(1 / f32(scaling.factor * posFreqs[i]));
    invFreq[i] = f32(f32(interpolation * f32(1 - extrapolationFactor)) + f32(extrapolation * extrapolationFactor));
  }
  return { invFreq, attentionScaling: scaling.attentionFactor };
}
