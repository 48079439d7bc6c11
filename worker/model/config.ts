// The model configuration every process agrees on, parsed from an HF `config.json` of a
// Qwen2ForCausalLM checkpoint (Baichuan-M2-32B's architecture). Anything this engine cannot run
// faithfully is rejected here, naming the field, instead of producing wrong tokens later.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FloatDtypeName } from './dtype.ts';

export interface YarnRopeScaling {
  type: 'yarn';
  factor: number;
  originalMaxPositionEmbeddings: number;
  betaFast: number;
  betaSlow: number;
  /** Attention temperature factor; HF default 0.1 * ln(factor) + 1. */
  attentionFactor: number;
}

export interface GptqQuantization {
  method: 'gptq';
  bits: number;
  groupSize: number;
  sym: boolean;
  descAct: boolean;
}

export interface ModelConfig {
  architecture: 'Qwen2ForCausalLM';
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  ropeTheta: number;
  ropeScaling: YarnRopeScaling | null;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  torchDtype: FloatDtypeName;
  bosTokenId: number | null;
  eosTokenIds: number[];
  quantization: GptqQuantization | null;
}

export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

type Json = Record<string, unknown>;

class FieldReader {
  constructor(private readonly raw: Json, private readonly where: string) {}

  fail(field: string, why: string): never {
    throw new ModelConfigError(`${this.where}: ${field}: ${why}`);
  }

  positiveInt(field: string, fallback?: number): number {
    const v = this.raw[field] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) <= 0) this.fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  positiveNumber(field: string, fallback?: number, from: Json = this.raw): number {
    const v = from[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'boolean') this.fail(field, `must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }
}

function parseTokenIds(r: FieldReader, field: string, v: unknown): number[] {
  if (v === undefined || v === null) return [];
  const ids = Array.isArray(v) ? v : [v];
  if (!ids.every((x) => Number.isSafeInteger(x) && x >= 0)) r.fail(field, `must be a token id or a list of token ids, got ${JSON.stringify(v)}`);
  return ids as number[];
}

function parseYarn(r: FieldReader, raw: Json, maxPositions: number): YarnRopeScaling {
  const factor = r.positiveNumber('rope_scaling.factor', undefined, { 'rope_scaling.factor': raw.factor });
  const original = raw.original_max_position_embeddings ?? maxPositions;
  if (!Number.isSafeInteger(original) || (original as number) <= 0) r.fail('rope_scaling.original_max_position_embeddings', `must be a positive integer, got ${JSON.stringify(original)}`);
  const num = (key: string, fallback: number): number => r.positiveNumber(`rope_scaling.${key}`, fallback, { [`rope_scaling.${key}`]: raw[key] });
  const known = new Set(['type', 'rope_type', 'factor', 'original_max_position_embeddings', 'beta_fast', 'beta_slow', 'attention_factor', 'mscale', 'mscale_all_dim', 'truncate']);
  for (const key of Object.keys(raw)) if (!known.has(key)) r.fail(`rope_scaling.${key}`, 'unsupported YaRN parameter');
  if (raw.mscale !== undefined || raw.mscale_all_dim !== undefined) r.fail('rope_scaling.mscale', 'DeepSeek-style mscale is not supported for Qwen2');
  return {
    type: 'yarn',
    factor,
    originalMaxPositionEmbeddings: original as number,
    betaFast: num('beta_fast', 32),
    betaSlow: num('beta_slow', 1),
    attentionFactor: raw.attention_factor === undefined ? 0.1 * Math.log(factor) + 1 : num('attention_factor', 1),
  };
}

function parseQuantization(r: FieldReader, raw: unknown): GptqQuantization | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object') r.fail('quantization_config', 'must be an object');
  const q = raw as Json;
  const method = q.quant_method;
  if (method !== 'gptq') r.fail('quantization_config.quant_method', `${JSON.stringify(method)} is not supported (supported: "gptq")`);
  const bits = q.bits;
  if (bits !== 4 && bits !== 8) r.fail('quantization_config.bits', `must be 4 or 8, got ${JSON.stringify(bits)}`);
  const groupSize = q.group_size ?? -1;
  if (!Number.isSafeInteger(groupSize) || ((groupSize as number) <= 0 && groupSize !== -1)) r.fail('quantization_config.group_size', `must be a positive integer or -1, got ${JSON.stringify(groupSize)}`);
  const sym = q.sym ?? true;
  const descAct = q.desc_act ?? false;
  if (typeof sym !== 'boolean') r.fail('quantization_config.sym', 'must be a boolean');
  if (typeof descAct !== 'boolean') r.fail('quantization_config.desc_act', 'must be a boolean');
  return { method: 'gptq', bits, groupSize: groupSize as number, sym, descAct };
}

/** Validates a parsed config.json object. `where` names its source in error messages. */
export function parseModelConfig(raw: unknown, where = 'config.json', generation: Json = {}): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelConfigError(`${where}: not a JSON object`);
  const c = raw as Json;
  const r = new FieldReader(c, where);
  const archs = c.architectures;
  const architecture = Array.isArray(archs) ? archs[0] : undefined;
  if (architecture !== 'Qwen2ForCausalLM') r.fail('architectures', `${JSON.stringify(archs)} is not supported (supported: ["Qwen2ForCausalLM"])`);
  if (c.model_type !== undefined && c.model_type !== 'qwen2') r.fail('model_type', `${JSON.stringify(c.model_type)} is not supported (supported: "qwen2")`);
  if ((c.hidden_act ?? 'silu') !== 'silu') r.fail('hidden_act', `${JSON.stringify(c.hidden_act)} is not supported (supported: "silu")`);
  if (c.use_sliding_window === true) r.fail('use_sliding_window', 'sliding-window attention is not supported');

  const hiddenSize = r.positiveInt('hidden_size');
  const numHeads = r.positiveInt('num_attention_heads');
  const numKvHeads = r.positiveInt('num_key_value_heads', numHeads);
  if (hiddenSize % numHeads !== 0 && c.head_dim === undefined) r.fail('hidden_size', `${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  const headDim = r.positiveInt('head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) r.fail('head_dim', `must be even for rotary embeddings, got ${headDim}`);
  if (numHeads % numKvHeads !== 0) r.fail('num_key_value_heads', `${numKvHeads} does not divide num_attention_heads ${numHeads}`);

  const ropeParams = (c.rope_parameters ?? {}) as Json;
  const ropeTheta = r.positiveNumber('rope_theta', (ropeParams.rope_theta as number | undefined) ?? 10000);
  const maxPositionEmbeddings = r.positiveInt('max_position_embeddings', 32768);
  let ropeScaling: YarnRopeScaling | null = null;
  const scalingRaw = c.rope_scaling ?? (ropeParams.rope_type && ropeParams.rope_type !== 'default' ? ropeParams : null);
  if (scalingRaw !== null && scalingRaw !== undefined) {
    if (typeof scalingRaw !== 'object') r.fail('rope_scaling', 'must be an object or null');
    const s = scalingRaw as Json;
    const kind = s.rope_type ?? s.type;
    const { rope_theta: _theta, ...scaling } = s;
    if (kind === 'yarn') ropeScaling = parseYarn(r, scaling, maxPositionEmbeddings);
    else if (kind !== 'default') r.fail('rope_scaling.type', `${JSON.stringify(kind)} is not supported (supported: "yarn")`);
  }

  const dtype = c.torch_dtype ?? c.dtype ?? 'bfloat16';
  if (dtype !== 'float32' && dtype !== 'bfloat16' && dtype !== 'float16') r.fail('torch_dtype', `${JSON.stringify(dtype)} is not supported (supported: float32, bfloat16, float16)`);

  const eosTokenIds = parseTokenIds(r, 'eos_token_id', generation.eos_token_id ?? c.eos_token_id);
  const bos = generation.bos_token_id ?? c.bos_token_id;
  return {
    architecture: 'Qwen2ForCausalLM',
    hiddenSize,
    numLayers: r.positiveInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: r.positiveInt('intermediate_size'),
    vocabSize: r.positiveInt('vocab_size'),
    ropeTheta,
    ropeScaling,
    rmsNormEps: r.positiveNumber('rms_norm_eps', 1e-6),
    maxPositionEmbeddings,
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    torchDtype: dtype as FloatDtypeName,
    bosTokenId: Number.isSafeInteger(bos) ? (bos as number) : null,
    eosTokenIds,
    quantization: parseQuantization(r, c.quantization_config),
  };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ModelConfigError(e.code === 'ENOENT' ? `${path}: not found` : `${path}: ${e.message}`);
  }
}

/** Reads `dir/config.json` (and `generation_config.json`, whose eos ids take precedence). */
export function loadModelConfig(dir: string): ModelConfig {
  const configPath = join(dir, 'config.json');
  const raw = readJson(configPath);
  const genPath = join(dir, 'generation_config.json');
  const generation = existsSync(genPath) ? (readJson(genPath) as Json) : {};
  return parseModelConfig(raw, configPath, generation);
}
