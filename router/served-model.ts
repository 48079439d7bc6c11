// What the router knows about the model it serves, loaded once from the model folder at start-up:
// the tokenizer and chat template (the router templates and tokenizes every prompt), the context
// length and the sampling defaults of generation_config.json (the coordinator gets every field
// already defaulted).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatRenderer, M2_CHAT_TEMPLATE } from '../coordinator/text/chat-template.ts';
import { QwenTokenizer } from '../coordinator/text/tokenizer.ts';
import { loadModelConfig, type ModelConfig } from '../worker/model/config.ts';

/** Sampling values used when a request leaves a field out. */
export interface SamplingDefaults {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repetitionPenalty: number;
}

/** HF's own defaults, for keys generation_config.json does not set. */
const HF_DEFAULTS: SamplingDefaults = { temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1 };

export class ServedModel {
  readonly renderer: ChatRenderer;
  readonly samplingDefaults: SamplingDefaults;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly config: ModelConfig,
    readonly tokenizer: QwenTokenizer,
  ) {
    this.renderer = new ChatRenderer(tokenizer.chatTemplate ?? M2_CHAT_TEMPLATE, tokenizer.specialTokens);
    this.samplingDefaults = readSamplingDefaults(dir);
  }

  /** Loads config, tokenizer and template; throws (ModelConfigError / TextError) when unusable. */
  static load(dir: string, servedName?: string): ServedModel {
    const config = loadModelConfig(dir);
    const tokenizer = QwenTokenizer.fromModelDir(dir);
    return new ServedModel(servedName ?? defaultServedName(dir), dir, config, tokenizer);
  }

  /** The context length of the checkpoint; a coordinator may report less (KV memory). */
  get maxModelLen(): number {
    return this.config.maxPositionEmbeddings;
  }

  /** The embedding rows: ids below this are valid in prompts, biases and stop ids. */
  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** "bf16", "f32", "f16" or "gptq-int4" (ModelInfo). */
  get dtypeLabel(): string {
    const q = this.config.quantization;
    if (q) return `${q.method}-int${q.bits}`;
    return { float32: 'f32', bfloat16: 'bf16', float16: 'f16' }[this.config.torchDtype];
  }
}

/** The folder name, as vLLM names a model by its path when --served-model-name is not given. */
function defaultServedName(dir: string): string {
  return dir.replace(/\/+$/, '').split('/').pop() || dir;
}

function readSamplingDefaults(dir: string): SamplingDefaults {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return { ...HF_DEFAULTS };
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const pick = (key: string, fallback: number): number => {
    const v = raw[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  };
  // do_sample false means greedy in HF, whatever temperature the file also names.
  const greedy = raw.do_sample === false;
  return {
    temperature: greedy ? 0 : pick('temperature', HF_DEFAULTS.temperature),
    topP: pick('top_p', HF_DEFAULTS.topP),
    topK: pick('top_k', HF_DEFAULTS.topK),
    minP: pick('min_p', HF_DEFAULTS.minP),
    repetitionPenalty: pick('repetition_penalty', HF_DEFAULTS.repetitionPenalty),
  };
}
