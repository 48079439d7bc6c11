// `m2 generate`: one-shot generation on a local TP group. Starts the workers, runs the prompts
// as one batch through the engine, prints the text (or --json), and stops every process it
// started, on errors and SIGINT/SIGTERM too.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Replica } from '../../coordinator/runtime/replica.ts';
import { ChatRenderer, M2_CHAT_TEMPLATE, parseThinkingMode, type ThinkingMode } from '../../coordinator/text/chat-template.ts';
import { splitReasoning } from '../../coordinator/text/reasoning.ts';
import { THINK_START_ID, type QwenTokenizer } from '../../coordinator/text/tokenizer.ts';
import type { EngineGenerateRequest } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import { CliError, intOpt, stringOpt, type Command, type ParsedValues } from '../command.ts';
import { ENGINE_OPTIONS, ENGINE_USAGE, parseEngineOptions } from '../engine-options.ts';

interface PromptInput {
  label: string;
  text?: string;
  messages?: unknown;
  tokenIds?: number[];
}

interface Result {
  token_ids: number[];
  text: string;
  reasoning_content: string | null;
  content: string;
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; cached_tokens: number };
  timing: { ttft_s: number; e2e_s: number; prefill_tok_s: number; decode_tok_s: number };
}

function floatOpt(values: ParsedValues, name: string, min: number, max: number): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new CliError(`--${name} must be a number in ${min}..${max}, got ${JSON.stringify(v)}`, 2);
  return n;
}

function readJsonFile(path: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`${flag} ${path}: ${(err as Error).message}`);
  }
}

function collectPrompts(values: ParsedValues): PromptInput[] {
  const prompts: PromptInput[] = [];
  const texts = (values.prompt as string[] | undefined) ?? [];
  for (const text of texts) prompts.push({ label: '--prompt', text });
  const file = stringOpt(values, 'prompts-file');
  if (file) {
    const data = readJsonFile(file, '--prompts-file');
    if (!Array.isArray(data) || !data.every((p) => typeof p === 'string')) throw new CliError(`--prompts-file ${file}: expected a JSON array of strings`);
    for (const text of data as string[]) prompts.push({ label: file, text });
  }
  const messages = stringOpt(values, 'messages');
  if (messages) prompts.push({ label: messages, messages: readJsonFile(messages, '--messages') });
  const ids = stringOpt(values, 'token-ids');
  if (ids !== undefined) {
    const parsed = ids.split(',').map((s) => s.trim());
    if (!parsed.every((s) => /^\d+$/.test(s))) throw new CliError(`--token-ids must be comma-separated non-negative integers, got ${JSON.stringify(ids)}`, 2);
    prompts.push({ label: '--token-ids', tokenIds: parsed.map(Number) });
  }
  if (prompts.length === 0) throw new CliError('give a prompt: --prompt TEXT, --prompts-file FILE, --messages FILE or --token-ids 1,2,3', 2);
  return prompts;
}

function promptIds(p: PromptInput, tokenizer: QwenTokenizer | null, thinking: ThinkingMode, raw: boolean): number[] {
  if (p.tokenIds) return p.tokenIds;
  if (!tokenizer) throw new CliError('this model has no tokenizer files: use --token-ids');
  if (p.text !== undefined && raw) return tokenizer.encode(p.text);
  const renderer = new ChatRenderer(tokenizer.chatTemplate ?? M2_CHAT_TEMPLATE, tokenizer.specialTokens);
  const messages = p.messages ?? [{ role: 'user', content: p.text }];
  try {
    return tokenizer.encode(renderer.render(messages, { thinkingMode: thinking, addGenerationPrompt: true }));
  } catch (err) {
    throw new CliError(`${p.label}: ${(err as Error).message}`);
  }
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate from prompts on a local tensor-parallel group',
  usage: `Usage: m2 generate --model DIR (--prompt TEXT | --prompts-file FILE | --messages FILE | --token-ids 1,2,3) [options]

Starts --tp worker processes, runs every prompt as one batch, prints the output and stops the
workers. Prompts are rendered with the model's chat template (thinking control included)
unless --raw; several --prompt flags or a --prompts-file (JSON array of strings) run together.

Options:
  --model DIR           model folder in HF layout (see m2 make-model)
  --prompt TEXT         a user message (repeatable)
  --prompts-file FILE   JSON array of prompt strings
  --messages FILE       JSON array of chat messages
  --token-ids LIST      a pre-tokenized prompt
  --raw                 tokenize --prompt text as is, without the chat template
  --thinking MODE       on | off | auto (default on)
  --max-tokens N        output tokens per prompt (default 128)
  --temperature T       0 = greedy (default 0)
  --top-p P, --top-k K, --min-p P
  --seed S              sampling seed (default 0)
  --stop TEXT           stop string (repeatable)
  --ignore-eos          keep generating through EOS
  --json                print one JSON object (token_ids, text, reasoning_content, content,
                        finish_reason, usage, timing) per prompt; several prompts -> {results}

${ENGINE_USAGE}`,
  options: {
    model: { type: 'string' },
    prompt: { type: 'string', multiple: true },
    'prompts-file': { type: 'string' },
    messages: { type: 'string' },
    'token-ids': { type: 'string' },
    raw: { type: 'boolean' },
    thinking: { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    'top-k': { type: 'string' },
    'min-p': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    'ignore-eos': { type: 'boolean' },
    json: { type: 'boolean' },
    ...ENGINE_OPTIONS,
  },
  async run(values) {
    const model = stringOpt(values, 'model');
    if (!model) throw new CliError('--model DIR is required', 2);
    const prompts = collectPrompts(values);
    let thinking: ThinkingMode;
    try {
      thinking = parseThinkingMode(stringOpt(values, 'thinking') ?? 'on', '--thinking');
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
    const maxTokens = intOpt(values, 'max-tokens', 1) ?? 128;
    const sampling = {
      temperature: floatOpt(values, 'temperature', 0, 100) ?? 0,
      topP: floatOpt(values, 'top-p', 1e-9, 1) ?? 1,
      topK: intOpt(values, 'top-k', 0) ?? 0,
      minP: floatOpt(values, 'min-p', 0, 1) ?? 0,
      seed: intOpt(values, 'seed', 0) ?? 0,
      logprobs: -1,
      repetitionPenalty: 1,
    };
    const replica = await Replica.start(parseEngineOptions(values, resolve(model)));
    try {
      const ids = prompts.map((p) => promptIds(p, replica.tokenizer, thinking, values.raw === true));
      const banned = thinking === 'off' && replica.tokenizer ? [THINK_START_ID] : [];
      const results = await Promise.all(
        ids.map((promptTokenIds, i) => {
          const req: EngineGenerateRequest = {
            requestId: `generate-${i}`,
            promptTokenIds,
            params: {
              sampling: { ...sampling, bannedIds: banned },
              n: 1,
              maxTokens,
              ignoreEos: values['ignore-eos'] === true,
              stop: (values.stop as string[] | undefined) ?? [],
            },
          };
          return runOne(replica, req, thinking);
        }),
      );
      if (values.json) {
        const timing = { load_s: Number(replica.loadSeconds.toFixed(3)) };
        const out = results.length === 1 ? { ...results[0], timing: { ...timing, ...results[0].timing } } : { results, timing };
        console.log(JSON.stringify(out));
      } else {
        for (const r of results) {
          if (r.reasoning_content) console.log(`[reasoning]\n${r.reasoning_content}\n[content]`);
          console.log(r.content);
        }
      }
      return 0;
    } finally {
      await replica.close();
    }
  },
};

async function runOne(replica: Replica, req: EngineGenerateRequest, thinking: ThinkingMode): Promise<Result> {
  const tokenIds: number[] = [];
  let text = '';
  let finish = '';
  let usage = { prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0 };
  let ttft = 0;
  let e2e = 0;
  for await (const update of replica.engine.generate(req)) {
    for (const c of update.choices) {
      tokenIds.push(...c.tokenIds);
      text += c.text;
      if (c.finishReason) finish = c.finishReason;
    }
    if (update.usage) {
      usage = { prompt_tokens: update.usage.promptTokens, completion_tokens: update.usage.completionTokens, cached_tokens: update.usage.cachedTokens };
      ttft = update.ttftSeconds;
      e2e = update.e2eSeconds;
    }
  }
  const split = splitReasoning(text, thinking);
  const decodeTokens = Math.max(0, usage.completion_tokens - 1);
  return {
    token_ids: tokenIds,
    text,
    reasoning_content: split.reasoning_content,
    content: split.content,
    finish_reason: finish,
    usage,
    timing: {
      ttft_s: Number(ttft.toFixed(4)),
      e2e_s: Number(e2e.toFixed(4)),
      prefill_tok_s: ttft > 0 ? Number((usage.prompt_tokens / ttft).toFixed(1)) : 0,
      decode_tok_s: e2e > ttft && decodeTokens > 0 ? Number((decodeTokens / (e2e - ttft)).toFixed(1)) : 0,
    },
  };
}
