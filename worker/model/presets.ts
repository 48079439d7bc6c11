// The model presets of `m2 make-model` (DESIGN.md, "Model presets"): seeded random weights in the
// real HF layout, from a few-MB unit-test model up to the real Baichuan-M2-32B shape.
import type { FloatDtypeName } from './dtype.ts';

export interface ModelShape {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  vocabSize: number;
}

export interface ModelPreset {
  name: PresetName;
  shape: ModelShape;
  dtype: FloatDtypeName;
  /** Whether to ship the real Qwen tokenizer files (micro is used through token ids only). */
  withTokenizer: boolean;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  /** Shard size limit, small enough that every preset has several shards plus an index. */
  maxShardBytes: number;
}

export const PRESET_NAMES = ['micro', 'tiny', 'small', 'm2-32b'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const MB = 1024 * 1024;

export const PRESETS: Readonly<Record<PresetName, ModelPreset>> = {
  micro: {
    name: 'micro',
    shape: { hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 4, intermediateSize: 128, vocabSize: 512 },
    dtype: 'float32',
    withTokenizer: false,
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 4096,
    maxShardBytes: MB / 4,
  },
  tiny: {
    name: 'tiny',
    shape: { hiddenSize: 128, numLayers: 2, numHeads: 8, numKvHeads: 4, intermediateSize: 384, vocabSize: 152064 },
    dtype: 'float32',
    withTokenizer: true,
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 32768,
    maxShardBytes: 100 * MB,
  },
  small: {
    // Qwen2.5-0.5B's shape, tied embeddings included (its lm_head is the embedding matrix).
    name: 'small',
    shape: { hiddenSize: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, intermediateSize: 4864, vocabSize: 151936 },
    dtype: 'bfloat16',
    withTokenizer: true,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 32768,
    maxShardBytes: 512 * MB,
  },
  'm2-32b': {
    name: 'm2-32b',
    shape: { hiddenSize: 5120, numLayers: 64, numHeads: 40, numKvHeads: 8, intermediateSize: 27648, vocabSize: 152064 },
    dtype: 'bfloat16',
    withTokenizer: true,
    tieWordEmbeddings: false,
    maxPositionEmbeddings: 131072,
    maxShardBytes: 4096 * MB,
  },
};

export function isPresetName(value: string): value is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(value);
}
