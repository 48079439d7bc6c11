import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig, parseModelConfig } from '../../worker/model/config.ts';

/** Baichuan-M2-32B's config.json as published (Qwen2 architecture). */
const M2_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 5120,
  initializer_range: 0.02,
  intermediate_size: 27648,
  max_position_embeddings: 131072,
  max_window_layers: 64,
  model_type: 'qwen2',
  num_attention_heads: 40,
  num_hidden_layers: 64,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000.0,
  sliding_window: 131072,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 152064,
};

test('parses the M2-32B config', () => {
  const c = parseModelConfig(M2_CONFIG);
  assert.equal(c.hiddenSize, 5120);
  assert.equal(c.numLayers, 64);
  assert.equal(c.numHeads, 40);
  assert.equal(c.numKvHeads, 8);
  assert.equal(c.headDim, 128);
  assert.equal(c.intermediateSize, 27648);
  assert.equal(c.vocabSize, 152064);
  assert.equal(c.ropeTheta, 1e6);
  assert.equal(c.ropeScaling, null);
  assert.equal(c.rmsNormEps, 1e-6);
  assert.equal(c.maxPositionEmbeddings, 131072);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.torchDtype, 'bfloat16');
  assert.deepEqual(c.eosTokenIds, [151645]);
  assert.equal(c.quantization, null);
});

test('rope_theta from rope_parameters, YaRN scaling as Qwen2.5 documents it', () => {
  const { rope_theta: _t, ...noTheta } = M2_CONFIG;
  const c = parseModelConfig({ ...noTheta, rope_parameters: { rope_type: 'default', rope_theta: 5e5 } });
  assert.equal(c.ropeTheta, 5e5);
  assert.equal(c.ropeScaling, null);
  const y = parseModelConfig({ ...M2_CONFIG, rope_scaling: { factor: 4.0, original_max_position_embeddings: 32768, type: 'yarn' } });
  assert.deepEqual(y.ropeScaling, { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768, betaFast: 32, betaSlow: 1, attentionFactor: 0.1 * Math.log(4) + 1 });
  const viaParams = parseModelConfig({ ...noTheta, rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 2, original_max_position_embeddings: 4096 } });
  assert.equal(viaParams.ropeTheta, 1e6);
  assert.equal(viaParams.ropeScaling?.factor, 2);
});

test('GPTQ quantization_config is recognised with its parameters', () => {
  const c = parseModelConfig({ ...M2_CONFIG, quantization_config: { quant_method: 'gptq', bits: 4, group_size: 128, sym: true, desc_act: true } });
  assert.deepEqual(c.quantization, { method: 'gptq', bits: 4, groupSize: 128, sym: true, descAct: true });
});

test('unsupported configs are rejected naming the field', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ architectures: ['LlamaForCausalLM'] }, /architectures: \["LlamaForCausalLM"\] is not supported/],
    [{ model_type: 'llama' }, /model_type: "llama" is not supported/],
    [{ hidden_act: 'gelu' }, /hidden_act: "gelu" is not supported/],
    [{ use_sliding_window: true }, /use_sliding_window: sliding-window attention is not supported/],
    [{ rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling\.type: "linear" is not supported/],
    [{ rope_scaling: { type: 'yarn', factor: -1 } }, /rope_scaling\.factor: must be a positive number/],
    [{ rope_scaling: { type: 'yarn', factor: 2, bogus: 1 } }, /rope_scaling\.bogus: unsupported YaRN parameter/],
    [{ torch_dtype: 'float64' }, /torch_dtype: "float64" is not supported/],
    [{ hidden_size: 0 }, /hidden_size: must be a positive integer/],
    [{ num_key_value_heads: 7 }, /num_key_value_heads: 7 does not divide num_attention_heads 40/],
    [{ hidden_size: 5121 }, /hidden_size: 5121 is not divisible by num_attention_heads 40/],
    [{ quantization_config: { quant_method: 'awq', bits: 4 } }, /quantization_config\.quant_method: "awq" is not supported/],
    [{ quantization_config: { quant_method: 'gptq', bits: 3 } }, /quantization_config\.bits: must be 4 or 8/],
    [{ tie_word_embeddings: 'yes' }, /tie_word_embeddings: must be a boolean/],
    [{ eos_token_id: 'x' }, /eos_token_id: must be a token id/],
  ];
  for (const [patch, pattern] of cases) {
    assert.throws(() => parseModelConfig({ ...M2_CONFIG, ...patch }, 'm2/config.json'), (err: Error) => {
      assert.match(err.message, /^m2\/config\.json: /);
      assert.match(err.message, pattern);
      return true;
    });
  }
  assert.throws(() => parseModelConfig([1, 2]), /not a JSON object/);
});

test('loadModelConfig reads the folder; generation_config eos ids win; missing/corrupt files are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'm2-cfg-'));
  try {
    assert.throws(() => loadModelConfig(dir), /config\.json: not found/);
    writeFileSync(join(dir, 'config.json'), '{ not json');
    assert.throws(() => loadModelConfig(dir), /config\.json: .*JSON/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(M2_CONFIG));
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643] }));
    assert.deepEqual(loadModelConfig(dir).eosTokenIds, [151645, 151643]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
