// POST /v1/completions: a raw prompt (text or token ids, no template, so no reasoning split),
// streamed as `text_completion` chunks or answered whole. Features that would silently change
// the meaning of a request here (echo, suffix, best_of) are refused rather than ignored.
import { badParam } from '../api-error.ts';
import { parseCompletionLogprobs, parseGenerationOptions, type ParamReader } from '../generation-params.ts';
import type { FinishReason, RunUpdate, UsageCounts } from '../generation-run.ts';
import { rawPrompt } from '../prompt.ts';
import { newRequestId } from '../request-gateway.ts';
import { appendCompletionLogprobs, completionLogprobs, TokenText, type CompletionLogprobs } from './logprobs.ts';
import { abortOnClientGone, openAiUsage, readCommonFields, unixSeconds, type EndpointContext, type EndpointResult } from './openai-request.ts';

function refuseUnsupported(p: ParamReader, n: number): void {
  if (p.boolean('echo') === true) throw badParam('echo', 'echo is not supported');
  if (p.string('suffix')) throw badParam('suffix', 'suffix is not supported');
  const bestOf = p.integer('best_of', 1, 128);
  if (bestOf !== undefined && bestOf !== n) throw badParam('best_of', 'best_of other than n is not supported');
}

export async function completions(body: unknown, ctx: EndpointContext): Promise<EndpointResult> {
  const common = readCommonFields(body, ctx);
  const { gateway } = ctx;
  const topLogprobs = parseCompletionLogprobs(common.params);
  const options = parseGenerationOptions(common.params, gateway.model.samplingDefaults, gateway.model.vocabSize, topLogprobs);
  refuseUnsupported(common.params, options.n);
  if (!common.params.has('prompt')) throw badParam('prompt', 'is required');
  const prompt = rawPrompt(gateway.model, common.params.raw('prompt'), 'prompt');
  const id = newRequestId('cmpl');
  const run = gateway.open(id, common.sessionId, prompt, options);
  abortOnClientGone(run, ctx.clientGone);
  const header = { id, object: 'text_completion', created: unixSeconds(), model: gateway.model.name };
  const shaper = new CompletionShaper(new TokenText(gateway.model), options.n, topLogprobs);
  const updates = gateway.stream(run);
  if (common.stream) return { kind: 'sse', events: shaper.chunks(updates, header, common.includeUsage) };
  return { kind: 'json', body: await shaper.whole(updates, header) };
}

/** Per-choice text offsets (for logprobs) carried across a request's updates. */
class CompletionShaper {
  private readonly offsets: number[];

  constructor(private readonly tokenText: TokenText, n: number, private readonly topLogprobs: number) {
    this.offsets = new Array<number>(n).fill(0);
  }

  private logprobsOf(index: number, update: RunUpdate['choices'][number]): CompletionLogprobs | null {
    if (this.topLogprobs < 0) return null;
    const lp = completionLogprobs(this.tokenText, update.logprobs, this.offsets[index]!, this.topLogprobs > 0);
    this.offsets[index]! += lp.tokens.reduce((sum, t) => sum + t.length, 0);
    return lp;
  }

  async *chunks(updates: AsyncIterable<RunUpdate>, header: object, includeUsage: boolean): AsyncGenerator<unknown> {
    let usage: UsageCounts | undefined;
    for await (const update of updates) {
      usage = update.usage ?? usage;
      for (const c of update.choices) {
        if (c.text === '' && !c.finishReason && c.logprobs.length === 0) continue;
        yield {
          ...header,
          choices: [{ index: c.index, text: c.text, logprobs: this.logprobsOf(c.index, c), finish_reason: c.finishReason ?? null }],
          ...(includeUsage ? { usage: null } : {}),
        };
      }
    }
    if (includeUsage && usage) yield { ...header, choices: [], usage: openAiUsage(usage) };
  }

  async whole(updates: AsyncIterable<RunUpdate>, header: object): Promise<unknown> {
    const choices = this.offsets.map((_, index) => ({
      index,
      text: '',
      logprobs: this.topLogprobs >= 0 ? { tokens: [], token_logprobs: [], top_logprobs: this.topLogprobs > 0 ? [] : null, text_offset: [] } as CompletionLogprobs : null,
      finish_reason: 'abort' as FinishReason,
    }));
    let usage: UsageCounts | undefined;
    for await (const update of updates) {
      usage = update.usage ?? usage;
      for (const c of update.choices) {
        const choice = choices[c.index]!;
        choice.text += c.text;
        const lp = this.logprobsOf(c.index, c);
        if (choice.logprobs && lp) appendCompletionLogprobs(choice.logprobs, lp);
        if (c.finishReason) choice.finish_reason = c.finishReason;
      }
    }
    return { ...header, choices, usage: usage ? openAiUsage(usage) : null };
  }
}
