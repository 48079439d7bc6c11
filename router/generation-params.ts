// Validation of the sampling and stopping parameters both public APIs accept, under their OpenAI
// names (gRPC GenerationParams are mapped to the same names first), so every wrong value gets the
// same 400 / INVALID_ARGUMENT naming the parameter. Unknown fields are not looked at; null counts
// as absent, as in OpenAI's API.
import { badParam, describe } from './api-error.ts';
import type { SamplingDefaults } from './served-model.ts';

/** Validated parameters, with the model's sampling defaults filled in. */
export interface GenerationOptions {
  n: number;
  /** What the request asked for; the context length bounds it later. */
  maxTokens: number | undefined;
  minTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** Decimal uint64 (negative OpenAI seeds wrap as two's complement); undefined = unseeded. */
  seed: string | undefined;
  stop: string[];
  stopTokenIds: number[];
  ignoreEos: boolean;
  /** -1: no logprobs; 0: the sampled token's; k: also the top k. */
  logprobs: number;
  logitBias: Map<number, number>;
  skipSpecialTokens: boolean;
}

export const MAX_TOP_LOGPROBS = 20;
export const MAX_N = 128;
const MAX_STOP_SEQUENCES = 64;

type Body = Record<string, unknown>;

/** Reads optional fields of one request body, naming the parameter in every error. */
export class ParamReader {
  constructor(private readonly body: Body) {}

  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  number(name: string, min: number, max: number, opts: { minExclusive?: boolean } = {}): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badParam(name, `must be a number, got ${describe(v)}`);
    const belowMin = opts.minExclusive ? v <= min : v < min;
    if (belowMin || v > max) throw badParam(name, `must be in ${opts.minExclusive ? '(' : '['}${min}, ${max}], got ${v}`);
    return v;
  }

  integer(name: string, min: number, max: number): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badParam(name, `must be an integer, got ${describe(v)}`);
    if (v < min || v > max) throw badParam(name, `must be in [${min}, ${max}], got ${v}`);
    return v;
  }

  boolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (typeof v !== 'boolean') throw badParam(name, `must be a boolean, got ${describe(v)}`);
    return v;
  }

  string(name: string): string | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (typeof v !== 'string') throw badParam(name, `must be a string, got ${describe(v)}`);
    return v;
  }

  object(name: string): Body | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badParam(name, `must be an object, got ${describe(v)}`);
    return v as Body;
  }

  raw(name: string): unknown {
    return this.body[name];
  }
}

function stopStrings(p: ParamReader): string[] {
  if (!p.has('stop')) return [];
  const v = p.raw('stop');
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw badParam('stop', 'must be a string or an array of strings');
  if (list.length > MAX_STOP_SEQUENCES) throw badParam('stop', `at most ${MAX_STOP_SEQUENCES} sequences`);
  if (list.some((s) => s === '')) throw badParam('stop', 'stop sequences must not be empty');
  return list as string[];
}

function tokenIdList(p: ParamReader, name: string, vocabSize: number): number[] {
  if (!p.has(name)) return [];
  const v = p.raw(name);
  if (!Array.isArray(v) || !v.every((id) => Number.isSafeInteger(id) && id >= 0 && id < vocabSize)) {
    throw badParam(name, `must be an array of token ids in [0, ${vocabSize})`);
  }
  return v as number[];
}

function logitBias(p: ParamReader, vocabSize: number): Map<number, number> {
  const bias = new Map<number, number>();
  for (const [key, value] of Object.entries(p.object('logit_bias') ?? {})) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || !Number.isSafeInteger(id) || id >= vocabSize) {
      throw badParam('logit_bias', `keys must be token ids in [0, ${vocabSize}), got ${JSON.stringify(key)}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < -100 || value > 100) {
      throw badParam('logit_bias', `values must be numbers in [-100, 100], got ${describe(value)} for ${key}`);
    }
    bias.set(id, value);
  }
  return bias;
}

function seed(p: ParamReader): string | undefined {
  if (!p.has('seed')) return undefined;
  const v = p.raw('seed');
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badParam('seed', `must be an integer, got ${describe(v)}`);
  return BigInt.asUintN(64, BigInt(v)).toString();
}

/**
 * Parses the shared parameters. `logprobs` is passed in because the two HTTP APIs spell it
 * differently (chat: boolean + top_logprobs; completions: an integer).
 */
export function parseGenerationOptions(p: ParamReader, defaults: SamplingDefaults, vocabSize: number, logprobs: number): GenerationOptions {
  const maxCompletion = p.integer('max_completion_tokens', 1, Number.MAX_SAFE_INTEGER);
  const maxTokens = maxCompletion ?? p.integer('max_tokens', 1, Number.MAX_SAFE_INTEGER);
  const minTokens = p.integer('min_tokens', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  if (maxTokens !== undefined && minTokens > maxTokens) {
    throw badParam('min_tokens', `must not exceed max_tokens (${minTokens} > ${maxTokens})`);
  }
  const topK = p.integer('top_k', -1, Number.MAX_SAFE_INTEGER) ?? defaults.topK;
  return {
    n: p.integer('n', 1, MAX_N) ?? 1,
    maxTokens,
    minTokens,
    temperature: p.number('temperature', 0, 100) ?? defaults.temperature,
    topP: p.number('top_p', 0, 1, { minExclusive: true }) ?? defaults.topP,
    // vLLM spells "no top-k" as -1; the worker's spelling is 0.
    topK: topK < 0 ? 0 : topK,
    minP: p.number('min_p', 0, 1) ?? defaults.minP,
    repetitionPenalty: p.number('repetition_penalty', 0, 100, { minExclusive: true }) ?? defaults.repetitionPenalty,
    presencePenalty: p.number('presence_penalty', -2, 2) ?? 0,
    frequencyPenalty: p.number('frequency_penalty', -2, 2) ?? 0,
    seed: seed(p),
    stop: stopStrings(p),
    stopTokenIds: tokenIdList(p, 'stop_token_ids', vocabSize),
    ignoreEos: p.boolean('ignore_eos') ?? false,
    logprobs,
    logitBias: logitBias(p, vocabSize),
    skipSpecialTokens: p.boolean('skip_special_tokens') ?? true,
  };
}

/** Chat's spelling: `logprobs` boolean plus `top_logprobs` 0..20 (which needs logprobs true). */
export function parseChatLogprobs(p: ParamReader): number {
  const enabled = p.boolean('logprobs') ?? false;
  const top = p.integer('top_logprobs', 0, MAX_TOP_LOGPROBS);
  if (top !== undefined && top > 0 && !enabled) throw badParam('top_logprobs', 'requires logprobs to be true');
  return enabled ? (top ?? 0) : -1;
}

/** Completions' spelling: `logprobs` is the number of alternatives, 0..20. */
export function parseCompletionLogprobs(p: ParamReader): number {
  return p.integer('logprobs', 0, MAX_TOP_LOGPROBS) ?? -1;
}
