// Which slice of each checkpoint tensor a tensor-parallel rank owns (Megatron layout):
// column-parallel q/k/v (+bias), gate, up (rows of [out, in]); row-parallel o_proj, down_proj
// (columns); vocab-parallel embedding and lm_head (rows); norms replicated. KV heads are split
// across ranks, and each rank's query heads are exactly those that use its KV heads.
import type { ModelConfig } from '../model/config.ts';
import type { NativeModelShape } from '../../kernels/model.ts';
import { ropeTables } from './rope.ts';

export interface TensorSlice {
  name: string;
  /** rows: [start, end) of dim 0; columns: of the last dim; whole: the full tensor. */
  axis: 'rows' | 'columns' | 'whole';
  start: number;
  end: number;
}

export interface ShardPlan {
  shape: NativeModelShape;
  tensors: TensorSlice[];
}

export class ShardPlanError extends Error {
  override readonly name = 'ShardPlanError';
}

function split(total: number, world: number, what: string): number {
  if (total % world !== 0) throw new ShardPlanError(`tensor parallel size ${world} does not divide ${what} (${total})`);
  return total / world;
}

export function planShard(config: ModelConfig, rank: number, worldSize: number): ShardPlan {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new ShardPlanError(`world size must be >= 1, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) throw new ShardPlanError(`rank ${rank} is outside [0, ${worldSize})`);
  if (config.quantization) throw new ShardPlanError('quantized checkpoints are not supported by this forward pass yet');
  const kvHeads = split(config.numKvHeads, worldSize, 'num_key_value_heads');
  const qHeads = split(config.numHeads, worldSize, 'num_attention_heads');
  const inter = split(config.intermediateSize, worldSize, 'intermediate_size');
  const vocab = split(config.vocabSize, worldSize, 'vocab_size');
  const d = config.headDim;
  const rows = (name: string, per: number): TensorSlice => ({ name, axis: 'rows', start: rank * per, end: (rank + 1) * per });
  const columns = (name: string, per: number): TensorSlice => ({ name, axis: 'columns', start: rank * per, end: (rank + 1) * per });
  const whole = (name: string): TensorSlice => ({ name, axis: 'whole', start: 0, end: 0 });
  const tensors: TensorSlice[] = [rows('model.embed_tokens.weight', vocab), whole('model.norm.weight')];
  if (!config.tieWordEmbeddings) tensors.push(rows('lm_head.weight', vocab));
  for (let l = 0; l < config.numLayers; ++l) {
    const p = `model.layers.${l}.`;
    tensors.push(
      whole(`${p}input_layernorm.weight`),
      whole(`${p}post_attention_layernorm.weight`),
      rows(`${p}self_attn.q_proj.weight`, qHeads * d),
      rows(`${p}self_attn.q_proj.bias`, qHeads * d),
      rows(`${p}self_attn.k_proj.weight`, kvHeads * d),
      rows(`${p}self_attn.k_proj.bias`, kvHeads * d),
      rows(`${p}self_attn.v_proj.weight`, kvHeads * d),
      rows(`${p}self_attn.v_proj.bias`, kvHeads * d),
      columns(`${p}self_attn.o_proj.weight`, qHeads * d),
      rows(`${p}mlp.gate_proj.weight`, inter),
      rows(`${p}mlp.up_proj.weight`, inter),
      columns(`${p}mlp.down_proj.weight`, inter),
    );
  }
  const rope = ropeTables(config);
  return {
    shape: {
      hiddenSize: config.hiddenSize,
      numLayers: config.numLayers,
      numHeads: qHeads,
      numKvHeads: kvHeads,
      headDim: d,
      intermediateSize: inter,
      vocabSize: config.vocabSize,
      vocabStart: rank * vocab,
      vocabEnd: (rank + 1) * vocab,
      rmsNormEps: config.rmsNormEps,
      tieWordEmbeddings: config.tieWordEmbeddings,
      ropeInvFreq: rope.invFreq,
      ropeAttentionScaling: rope.attentionScaling,
      rank,
      worldSize,
    },
    tensors,
  };
}
