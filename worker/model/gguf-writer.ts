// Writes a checkpoint as a GGUF v3 file that llama.cpp loads (Qwen2 architecture, its tokenizer
// as "gpt2" BPE with the "qwen2" pre-tokenizer): the benchmark runs llama.cpp on exactly the
// weights m2 serves. Names and conventions follow llama.cpp's convert_hf_to_gguf.py; matrices
// take the requested float type, norms and biases stay f32 as llama.cpp expects.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from './config.ts';
import { decodeFloats, encodeFloats, type TensorDtype } from './dtype.ts';
import { SafetensorsCheckpoint } from './safetensors.ts';

export type GgufFloatType = 'f32' | 'f16' | 'bf16';

export class GgufExportError extends Error {
  override readonly name = 'GgufExportError';
}

const ALIGNMENT = 32;
// gguf value types and ggml tensor types (gguf-py/gguf/constants.py).
const enum ValueType { U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9 }
const GGML_TYPE: Record<GgufFloatType, number> = { f32: 0, f16: 1, bf16: 30 };
const TENSOR_DTYPE: Record<GgufFloatType, TensorDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const FILE_TYPE: Record<GgufFloatType, number> = { f32: 0, f16: 1, bf16: 32 };
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

type MetaValue =
  | { type: ValueType.U32 | ValueType.I32 | ValueType.F32; value: number }
  | { type: ValueType.BOOL; value: boolean }
  | { type: ValueType.STRING; value: string }
  | { type: ValueType.ARRAY; of: ValueType.STRING; value: string[] }
  | { type: ValueType.ARRAY; of: ValueType.I32; value: number[] };

const u32 = (value: number): MetaValue => ({ type: ValueType.U32, value });
const f32 = (value: number): MetaValue => ({ type: ValueType.F32, value });
const str = (value: string): MetaValue => ({ type: ValueType.STRING, value });

/** Little-endian byte sink for the header (metadata can be megabytes: the vocabulary). */
class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer): void {
    this.push(b);
  }
  value(v: MetaValue): void {
    switch (v.type) {
      case ValueType.U32: return this.u32(v.value);
      case ValueType.I32: return this.i32(v.value);
      case ValueType.F32: return this.f32(v.value);
      case ValueType.BOOL: return this.raw(Buffer.of(v.value ? 1 : 0));
      case ValueType.STRING: return this.string(v.value);
      case ValueType.ARRAY:
        this.u32(v.of);
        this.u64(v.value.length);
        if (v.of === ValueType.STRING) for (const s of v.value) this.string(s);
        else for (const n of v.value) this.i32(n);
    }
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

interface TensorPlan {
  ggufName: string;
  hfName: string;
  /** HF shape (row-major, outermost first); GGUF lists it innermost first. */
  shape: number[];
  type: GgufFloatType;
  offset: number;
  bytes: number;
}

function ggufTensorName(hf: string): string | null {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return null;
  const perLayer: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.q_proj.bias': 'attn_q.bias',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.k_proj.bias': 'attn_k.bias',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.v_proj.bias': 'attn_v.bias',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const local = perLayer[m[2]];
  return local ? `blk.${m[1]}.${local}` : null;
}

interface HfTokenizer {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}
interface HfTokenizerConfig {
  chat_template?: string;
  pad_token?: string | null;
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new GgufExportError(`${path}: ${(err as Error).message}`);
  }
}

function tokenizerMetadata(dir: string, config: ModelConfig): [string, MetaValue][] {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) throw new GgufExportError(`${dir}: no tokenizer.json (llama.cpp needs the vocabulary)`);
  const tok = readJson<HfTokenizer>(path);
  if (tok.model?.type !== 'BPE') throw new GgufExportError(`${path}: only BPE tokenizers export (got ${tok.model?.type})`);
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgPath) ? readJson<HfTokenizerConfig>(cfgPath) : {};
  const tokens: string[] = Array.from({ length: config.vocabSize }, (_, i) => `[PAD${i}]`);
  const types: number[] = new Array<number>(config.vocabSize).fill(TOKEN_TYPE.unused);
  const place = (id: number, text: string, type: number) => {
    if (id >= config.vocabSize) throw new GgufExportError(`${path}: token id ${id} is outside vocab_size ${config.vocabSize}`);
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(tok.model.vocab)) place(id, text, TOKEN_TYPE.normal);
  for (const t of tok.added_tokens) place(t.id, t.content, t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
  const merges = tok.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  const idOf = (text: string | null | undefined) => (text ? tokens.indexOf(text) : -1);
  const eos = config.eosTokenIds[0] ?? idOf('<|endoftext|>');
  const bos = config.bosTokenId ?? idOf('<|endoftext|>');
  const pad = idOf(cfg.pad_token) >= 0 ? idOf(cfg.pad_token) : idOf('<|endoftext|>');
  const meta: [string, MetaValue][] = [
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('qwen2')],
    ['tokenizer.ggml.tokens', { type: ValueType.ARRAY, of: ValueType.STRING, value: tokens }],
    ['tokenizer.ggml.token_type', { type: ValueType.ARRAY, of: ValueType.I32, value: types }],
    ['tokenizer.ggml.merges', { type: ValueType.ARRAY, of: ValueType.STRING, value: merges }],
    ['tokenizer.ggml.add_bos_token', { type: ValueType.BOOL, value: false }],
  ];
  if (bos >= 0) meta.push(['tokenizer.ggml.bos_token_id', u32(bos)]);
  if (eos >= 0) meta.push(['tokenizer.ggml.eos_token_id', u32(eos)]);
  if (pad >= 0) meta.push(['tokenizer.ggml.padding_token_id', u32(pad)]);
  if (cfg.chat_template) meta.push(['tokenizer.chat_template', str(cfg.chat_template)]);
  return meta;
}

function modelMetadata(config: ModelConfig, name: string, type: GgufFloatType): [string, MetaValue][] {
  const meta: [string, MetaValue][] = [
    ['general.architecture', str('qwen2')],
    ['general.name', str(name)],
    ['general.file_type', u32(FILE_TYPE[type])],
    ['general.alignment', u32(ALIGNMENT)],
    ['qwen2.context_length', u32(config.maxPositionEmbeddings)],
    ['qwen2.embedding_length', u32(config.hiddenSize)],
    ['qwen2.block_count', u32(config.numLayers)],
    ['qwen2.feed_forward_length', u32(config.intermediateSize)],
    ['qwen2.attention.head_count', u32(config.numHeads)],
    ['qwen2.attention.head_count_kv', u32(config.numKvHeads)],
    ['qwen2.attention.key_length', u32(config.headDim)],
    ['qwen2.attention.value_length', u32(config.headDim)],
    ['qwen2.rope.freq_base', f32(config.ropeTheta)],
    ['qwen2.attention.layer_norm_rms_epsilon', f32(config.rmsNormEps)],
  ];
  const yarn = config.ropeScaling;
  if (yarn) {
    meta.push(['qwen2.rope.scaling.type', str('yarn')], ['qwen2.rope.scaling.factor', f32(yarn.factor)],
      ['qwen2.rope.scaling.original_context_length', u32(yarn.originalMaxPositionEmbeddings)]);
  }
  return meta;
}

function planTensors(ckpt: SafetensorsCheckpoint, config: ModelConfig, type: GgufFloatType): TensorPlan[] {
  if (config.quantization) throw new GgufExportError('quantized (GPTQ) checkpoints do not export: this exports f32/f16/bf16 weights');
  const plans: TensorPlan[] = [];
  let offset = 0;
  for (const hfName of ckpt.names().sort()) {
    const ggufName = ggufTensorName(hfName);
    if (!ggufName) throw new GgufExportError(`tensor ${hfName} has no GGUF counterpart in a Qwen2 model`);
    const shape = ckpt.info(hfName).shape;
    const t: GgufFloatType = shape.length === 1 ? 'f32' : type;
    const bytes = shape.reduce((a, b) => a * b, 1) * (t === 'f32' ? 4 : 2);
    plans.push({ ggufName, hfName, shape, type: t, offset, bytes });
    offset += Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
  }
  return plans;
}

function header(meta: [string, MetaValue][], tensors: TensorPlan[]): Buffer {
  const h = new ByteSink();
  h.raw(Buffer.from('GGUF', 'ascii'));
  h.u32(3);
  h.u64(tensors.length);
  h.u64(meta.length);
  for (const [key, value] of meta) {
    h.string(key);
    h.u32(value.type);
    h.value(value);
  }
  for (const t of tensors) {
    h.string(t.ggufName);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(GGML_TYPE[t.type]);
    h.u64(t.offset);
  }
  h.raw(Buffer.alloc((ALIGNMENT - (h.length % ALIGNMENT)) % ALIGNMENT));
  return h.bytes();
}

function convert(bytes: Buffer, from: TensorDtype, to: GgufFloatType): Buffer {
  const target = TENSOR_DTYPE[to];
  return from === target ? bytes : encodeFloats(decodeFloats(bytes, from), target);
}

/** Exports the HF checkpoint in `dir` to `out`; returns the tensor count and file size. */
export function exportGguf(dir: string, out: string, type: GgufFloatType): { tensors: number; bytes: number } {
  const config = loadModelConfig(dir);
  const ckpt = SafetensorsCheckpoint.open(dir);
  try {
    const tensors = planTensors(ckpt, config, type);
    const name = dir.split('/').filter(Boolean).pop() ?? 'model';
    const head = header([...modelMetadata(config, name, type), ...tokenizerMetadata(dir, config)], tensors);
    const fd = openSync(out, 'w');
    try {
      writeSync(fd, head);
      for (const t of tensors) {
        const data = convert(ckpt.read(t.hfName), ckpt.info(t.hfName).dtype, t.type);
        writeSync(fd, data);
        writeSync(fd, Buffer.alloc((ALIGNMENT - (data.length % ALIGNMENT)) % ALIGNMENT));
      }
    } finally {
      closeSync(fd);
    }
    const last = tensors[tensors.length - 1];
    return { tensors: tensors.length, bytes: head.length + last.offset + Math.ceil(last.bytes / ALIGNMENT) * ALIGNMENT };
  } finally {
    ckpt.close();
  }
}
