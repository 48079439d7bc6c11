// POST /v1/chat/completions: messages rendered with the thinking-aware template, output split into
// `reasoning_content` and `content` (DESIGN.md: after the last `</think>` is the answer; thinking
// off means no reasoning at all). Streams as `chat.completion.chunk` events or answers whole.
import type { ThinkingMode } from '../../coordinator/text/chat-template.ts';
import { splitReasoning } from '../../coordinator/text/reasoning.ts';
import type { SampledToken__Output } from '../../proto/gen/m2/v1/SampledToken.ts';
import { parseChatLogprobs, parseGenerationOptions } from '../generation-params.ts';
import type { FinishReason, GenerationRun, RunUpdate, UsageCounts } from '../generation-run.ts';
import { chatPrompt, type ChatPromptRequest } from '../prompt.ts';
import { newRequestId } from '../request-gateway.ts';
import { chatLogprobs, TokenText, type ChatLogprobEntry } from './logprobs.ts';
import { abortOnClientGone, openAiUsage, readCommonFields, unixSeconds, type EndpointContext, type EndpointResult } from './openai-request.ts';

interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
}

interface ChunkChoice {
  index: number;
  delta: ChatDelta;
  logprobs: { content: ChatLogprobEntry[] } | null;
  finish_reason: FinishReason | null;
}

export async function chatCompletions(body: unknown, ctx: EndpointContext): Promise<EndpointResult> {
  const common = readCommonFields(body, ctx);
  const { gateway } = ctx;
  const logprobs = parseChatLogprobs(common.params);
  const options = parseGenerationOptions(common.params, gateway.model.samplingDefaults, gateway.model.vocabSize, logprobs);
  const prompt = chatPrompt(gateway.model, body as ChatPromptRequest);
  const id = newRequestId('chatcmpl');
  const run = gateway.open(id, common.sessionId, prompt, options);
  abortOnClientGone(run, ctx.clientGone);
  const header = { id, created: unixSeconds(), model: gateway.model.name };
  const tokenText = new TokenText(gateway.model);
  const withLogprobs = logprobs >= 0;
  if (common.stream) {
    return { kind: 'sse', events: chatChunks(gateway.stream(run), header, options.n, tokenText, withLogprobs, common.includeUsage) };
  }
  return { kind: 'json', body: await chatCompletion(gateway.stream(run), run, header, prompt.thinkingMode, tokenText, withLogprobs) };
}

interface ResponseHeader {
  id: string;
  created: number;
  model: string;
}

async function* chatChunks(
  updates: AsyncIterable<RunUpdate>,
  header: ResponseHeader,
  n: number,
  tokenText: TokenText,
  withLogprobs: boolean,
  includeUsage: boolean,
): AsyncGenerator<unknown> {
  const chunk = (choices: ChunkChoice[]) => ({ ...header, object: 'chat.completion.chunk', choices, ...(includeUsage ? { usage: null } : {}) });
  let usage: UsageCounts | undefined;
  let started = false;
  for await (const update of updates) {
    if (!started) {
      started = true;
      for (let index = 0; index < n; index++) yield chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    }
    usage = update.usage ?? usage;
    for (const c of update.choices) {
      // Reasoning and content go in separate chunks, so a delta never mixes the two.
      const deltas: ChatDelta[] = [];
      if (c.reasoning) deltas.push({ reasoning_content: c.reasoning });
      if (c.content) deltas.push({ content: c.content });
      const hasLogprobs = withLogprobs && c.logprobs.length > 0;
      if (deltas.length === 0 && (c.finishReason || hasLogprobs)) deltas.push({});
      for (let i = 0; i < deltas.length; i++) {
        const last = i === deltas.length - 1;
        yield chunk([{
          index: c.index,
          delta: deltas[i],
          logprobs: last && withLogprobs ? { content: chatLogprobs(tokenText, c.logprobs) } : null,
          finish_reason: last ? c.finishReason ?? null : null,
        }]);
      }
    }
  }
  if (includeUsage && usage) yield { ...header, object: 'chat.completion.chunk', choices: [], usage: openAiUsage(usage) };
}

interface ChoiceAccumulator {
  text: string;
  logprobs: SampledToken__Output[];
  finishReason: FinishReason;
}

async function chatCompletion(
  updates: AsyncIterable<RunUpdate>,
  run: GenerationRun,
  header: ResponseHeader,
  mode: ThinkingMode | null,
  tokenText: TokenText,
  withLogprobs: boolean,
): Promise<unknown> {
  const choices: ChoiceAccumulator[] = Array.from({ length: run.request.params?.n ?? 1 }, () => ({ text: '', logprobs: [], finishReason: 'abort' }));
  let usage: UsageCounts | undefined;
  for await (const update of updates) {
    usage = update.usage ?? usage;
    for (const c of update.choices) {
      const acc = choices[c.index]!;
      acc.text += c.text;
      acc.logprobs.push(...c.logprobs);
      if (c.finishReason) acc.finishReason = c.finishReason;
    }
  }
  return {
    ...header,
    object: 'chat.completion',
    choices: choices.map((acc, index) => {
      const split = splitReasoning(acc.text, mode ?? 'off');
      return {
        index,
        message: { role: 'assistant', content: split.content, reasoning_content: split.reasoning_content },
        logprobs: withLogprobs ? { content: chatLogprobs(tokenText, acc.logprobs) } : null,
        finish_reason: acc.finishReason,
      };
    }),
    usage: usage ? openAiUsage(usage) : null,
  };
}
