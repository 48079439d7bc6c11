// Rotary tables against HF transformers (default and YaRN), and the tensor-parallel slicing plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ropeTables } from '../../worker/shard/rope.ts';
import { planShard } from '../../worker/shard/shard-plan.ts';
import type { ModelConfig, YarnRopeScaling } from '../../worker/model/config.ts';

interface RopeCase {
  headDim: number;
  ropeTheta: number;
  scaling: null | { factor: number; original_max_position_embeddings: number };
  invFreq: number[];
  attentionScaling: number;
}

test('rope tables equal HF inv_freq and attention scaling (default and YaRN)', () => {
  const cases = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/golden/rope.json'), 'utf8')) as RopeCase[];
  assert.equal(cases.length, 2);
  for (const c of cases) {
    const ropeScaling: YarnRopeScaling | null = c.scaling && {
      type: 'yarn', factor: c.scaling.factor, originalMaxPositionEmbeddings: c.scaling.original_max_position_embeddings,
      betaFast: 32, betaSlow: 1, attentionFactor: 0.1 * Math.log(c.scaling.factor) + 1,
    };
    const t = ropeTables({ headDim: c.headDim, ropeTheta: c.ropeTheta, ropeScaling });
    assert.equal(t.invFreq.length, c.invFreq.length);
    c.invFreq.forEach((f, i) => assert.ok(Math.abs(t.invFreq[i] - f) <= 2e-7 * f, `${c.scaling ? 'yarn' : 'default'} [${i}] ${t.invFreq[i]} vs ${f}`));
    assert.ok(Math.abs(t.attentionScaling - c.attentionScaling) < 1e-12);
  }
});

const m2: ModelConfig = {
  architecture: 'Qwen2ForCausalLM', hiddenSize: 5120, numLayers: 2, numHeads: 40, numKvHeads: 8, headDim: 128,
  intermediateSize: 27648, vocabSize: 152064, ropeTheta: 1e6, ropeScaling: null, rmsNormEps: 1e-6,
  maxPositionEmbeddings: 131072, tieWordEmbeddings: false, torchDtype: 'bfloat16', bosTokenId: null, eosTokenIds: [], quantization: null,
};

test('TP plan: column-parallel qkv/gate/up, row-parallel o/down, vocab-parallel embeddings, KV heads split', () => {
  const { shape, tensors } = planShard(m2, 3, 4);
  assert.deepEqual([shape.numHeads, shape.numKvHeads, shape.intermediateSize, shape.vocabStart, shape.vocabEnd], [10, 2, 6912, 114048, 152064]);
  const slice = (name: string) => tensors.find((t) => t.name === name);
  assert.deepEqual(slice('model.layers.1.self_attn.q_proj.weight'), { name: 'model.layers.1.self_attn.q_proj.weight', axis: 'rows', start: 3840, end: 5120 });
  assert.deepEqual(slice('model.layers.1.self_attn.k_proj.bias'), { name: 'model.layers.1.self_attn.k_proj.bias', axis: 'rows', start: 768, end: 1024 });
  assert.deepEqual(slice('model.layers.0.self_attn.o_proj.weight')?.axis, 'columns');
  assert.deepEqual(slice('model.layers.0.mlp.down_proj.weight'), { name: 'model.layers.0.mlp.down_proj.weight', axis: 'columns', start: 20736, end: 27648 });
  assert.equal(slice('model.norm.weight')?.axis, 'whole');
  assert.equal(tensors.length, 3 + 2 * 12);
  assert.equal(planShard({ ...m2, tieWordEmbeddings: true }, 0, 1).tensors.some((t) => t.name === 'lm_head.weight'), false);
});

test('TP plan rejects sizes that do not split', () => {
  assert.throws(() => planShard(m2, 0, 16), /does not divide num_key_value_heads/);
  assert.throws(() => planShard(m2, 2, 2), /rank 2 is outside/);
  assert.throws(() => planShard({ ...m2, vocabSize: 151937 }, 0, 2), /vocab_size/);
});
