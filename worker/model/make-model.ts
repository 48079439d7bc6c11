// `m2 make-model`: writes a preset model (seeded random weights) in the exact HF layout —
// config.json, generation_config.json, sharded safetensors + index and, for presets with a
// tokenizer, the real Qwen tokenizer files with our thinking-aware chat template. The same code
// path that loads these loads the real Baichuan-M2-32B checkpoint.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { M2_CHAT_TEMPLATE } from '../../coordinator/text/chat-template.ts';
import { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';
import { encodeFloats, FLOAT_DTYPE_TAG, type FloatDtypeName } from './dtype.ts';
import { PRESETS, type ModelShape, type PresetName } from './presets.ts';
import { fillUniform, initRange } from './seeded-weights.ts';
import { planShards, tensorBytes, writeShardedSafetensors, type TensorSpec } from './safetensors-writer.ts';

export interface MakeModelOptions {
  preset: PresetName;
  seed?: number;
  dtype?: FloatDtypeName;
  /** Cut the depth (e.g. the real M2 layer shape with fewer layers for benchmarks). */
  layers?: number;
  /** Overrides of the preset's shape (extra test shapes). */
  shape?: Partial<ModelShape>;
  /** Output folder; default ~/.cache/m2/models/<preset>-<seed>[-variant]. Reused when complete. */
  out?: string;
  onProgress?: (doneTensors: number, totalTensors: number) => void;
}

const QWEN_BOS = 151643;
const QWEN_EOS = [151645, 151643];
/** Written last: a folder without it is an interrupted run and is made again. */
const MARKER = 'm2-make-model.json';

export function defaultModelDir(opts: MakeModelOptions): string {
  const parts = [opts.preset, String(opts.seed ?? 0)];
  if (opts.dtype && opts.dtype !== PRESETS[opts.preset].dtype) parts.push(opts.dtype);
  if (opts.layers !== undefined) parts.push(`l${opts.layers}`);
  for (const [k, v] of Object.entries(opts.shape ?? {}).sort()) parts.push(`${k}${v}`);
  const root = process.env.M2_CACHE_DIR ?? join(homedir(), '.cache', 'm2');
  return join(root, 'models', parts.join('-'));
}

export function modelShape(opts: MakeModelOptions): ModelShape {
  const shape: ModelShape = { ...PRESETS[opts.preset].shape, ...opts.shape };
  if (opts.layers !== undefined) shape.numLayers = opts.layers;
  for (const [k, v] of Object.entries(shape)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`make-model: ${k} must be a positive integer, got ${v}`);
  }
  if (shape.hiddenSize % shape.numHeads !== 0) throw new Error(`make-model: hiddenSize ${shape.hiddenSize} is not divisible by numHeads ${shape.numHeads}`);
  if (shape.numHeads % shape.numKvHeads !== 0) throw new Error(`make-model: numKvHeads ${shape.numKvHeads} does not divide numHeads ${shape.numHeads}`);
  if ((shape.hiddenSize / shape.numHeads) % 2 !== 0) throw new Error('make-model: head_dim must be even');
  return shape;
}

export function tensorSpecs(shape: ModelShape, dtype: FloatDtypeName, tied: boolean): TensorSpec[] {
  const t = FLOAT_DTYPE_TAG[dtype];
  const { hiddenSize: h, numHeads, numKvHeads, intermediateSize: inter, vocabSize } = shape;
  const headDim = h / numHeads;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', dtype: t, shape: [vocabSize, h] }];
  for (let i = 0; i < shape.numLayers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, dtype: t, shape: [h] },
      { name: `${p}.self_attn.q_proj.weight`, dtype: t, shape: [q, h] },
      { name: `${p}.self_attn.q_proj.bias`, dtype: t, shape: [q] },
      { name: `${p}.self_attn.k_proj.weight`, dtype: t, shape: [kv, h] },
      { name: `${p}.self_attn.k_proj.bias`, dtype: t, shape: [kv] },
      { name: `${p}.self_attn.v_proj.weight`, dtype: t, shape: [kv, h] },
      { name: `${p}.self_attn.v_proj.bias`, dtype: t, shape: [kv] },
      { name: `${p}.self_attn.o_proj.weight`, dtype: t, shape: [h, q] },
      { name: `${p}.post_attention_layernorm.weight`, dtype: t, shape: [h] },
      { name: `${p}.mlp.gate_proj.weight`, dtype: t, shape: [inter, h] },
      { name: `${p}.mlp.up_proj.weight`, dtype: t, shape: [inter, h] },
      { name: `${p}.mlp.down_proj.weight`, dtype: t, shape: [h, inter] },
    );
  }
  specs.push({ name: 'model.norm.weight', dtype: t, shape: [h] });
  if (!tied) specs.push({ name: 'lm_head.weight', dtype: t, shape: [vocabSize, h] });
  return specs;
}

function configJson(opts: MakeModelOptions, shape: ModelShape, dtype: FloatDtypeName): Record<string, unknown> {
  const preset = PRESETS[opts.preset];
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.numLayers,
    num_attention_heads: shape.numHeads,
    num_key_value_heads: shape.numKvHeads,
    vocab_size: shape.vocabSize,
    max_position_embeddings: preset.maxPositionEmbeddings,
    max_window_layers: shape.numLayers,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    rope_scaling: null,
    sliding_window: null,
    use_sliding_window: false,
    attention_dropout: 0.0,
    initializer_range: 0.02,
    tie_word_embeddings: preset.tieWordEmbeddings,
    torch_dtype: dtype,
    use_cache: true,
    ...(preset.withTokenizer ? { bos_token_id: QWEN_BOS, eos_token_id: QWEN_EOS[0] } : {}),
    m2_preset: { name: opts.preset, seed: opts.seed ?? 0 },
  };
}

function writeTokenizerFiles(dir: string): void {
  const src = QwenTokenizer.bundledFilesDir();
  copyFileSync(join(src, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const config = JSON.parse(readFileSync(join(src, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  config.chat_template = M2_CHAT_TEMPLATE;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
}

/** Makes the model (or reuses a complete one in the target folder) and returns its folder. */
export function makeModel(opts: MakeModelOptions): string {
  const preset = PRESETS[opts.preset];
  if (!preset) throw new Error(`make-model: unknown preset ${JSON.stringify(opts.preset)}`);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`make-model: seed must be an integer in 0..2^32-1, got ${seed}`);
  const dtype = opts.dtype ?? preset.dtype;
  const shape = modelShape(opts);
  const dir = opts.out ?? defaultModelDir(opts);
  if (existsSync(join(dir, MARKER))) return dir;
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`make-model: ${dir} exists and is not a model made by make-model; refusing to overwrite it`);

  // Build in a sibling folder and rename, so concurrent makers and interrupted runs never leave
  // a half-written model where a loader would find it.
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const specs = tensorSpecs(shape, dtype, preset.tieWordEmbeddings);
    writeShardedSafetensors(tmp, planShards(specs, preset.maxShardBytes), (spec) => {
      const values = new Float32Array(tensorBytes(spec) / (spec.dtype === 'F32' ? 4 : 2));
      const { center, halfWidth } = initRange(spec.name, shape, preset.tieWordEmbeddings);
      fillUniform(values, seed, spec.name, center, halfWidth);
      return encodeFloats(values, spec.dtype);
    }, opts.onProgress);
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(configJson(opts, shape, dtype), null, 2) + '\n');
    const generation = preset.withTokenizer
      ? { bos_token_id: QWEN_BOS, eos_token_id: QWEN_EOS, pad_token_id: QWEN_BOS, do_sample: true, temperature: 0.6, top_p: 0.95, top_k: 20 }
      : { do_sample: false };
    writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
    if (preset.withTokenizer) writeTokenizerFiles(tmp);
    writeFileSync(join(tmp, MARKER), JSON.stringify({ preset: opts.preset, seed, dtype, shape }, null, 2) + '\n');
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // empty (checked above)
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(dir, MARKER))) return dir; // another process finished the same model first
    throw err;
  }
  return dir;
}
