// Everything the engine keeps about one live request: its n sequences and their output processors,
// its response stream and its timings. It shapes the EngineGenerateResponse messages, so usage (with
// cached prompt tokens) and timings are reported from one place.
import type { ChoiceDelta__Output } from '../../proto/gen/m2/v1/ChoiceDelta.ts';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { SamplingParams__Output } from '../../proto/gen/m2/v1/SamplingParams.ts';
import type { Usage__Output } from '../../proto/gen/m2/v1/Usage.ts';
import type { ChoiceOutputProcessor, ChoiceUpdate } from './output-processor.ts';
import type { ResolvedRequest } from './request-params.ts';
import type { ResponseStream } from './response-stream.ts';
import type { Sequence } from './sequence.ts';

export class RequestState {
  /** performance.now() milliseconds. */
  readonly arrivalTime = performance.now();
  firstScheduledTime: number | null = null;
  firstTokenTime: number | null = null;

  constructor(
    readonly params: ResolvedRequest,
    /** Indexed by choice index. */
    readonly seqs: readonly Sequence[],
    readonly outputs: readonly ChoiceOutputProcessor[],
    readonly stream: ResponseStream<EngineGenerateResponse__Output>,
  ) {}

  get finished(): boolean {
    return this.outputs.every((output) => output.finished);
  }

  /** Sampling for the choice's next token: the request's, plus its choice index and current bans. */
  samplingFor(seq: Sequence): SamplingParams__Output {
    const base = this.params.sampling;
    const banned = this.outputs[seq.choiceIndex].bannedIds();
    return {
      ...base,
      choiceIndex: seq.choiceIndex,
      bannedIds: banned.length === 0 ? base.bannedIds : [...new Set([...base.bannedIds, ...banned])],
    };
  }

  usage(): Usage__Output {
    return {
      promptTokens: this.params.promptTokenIds.length,
      completionTokens: this.outputs.reduce((sum, output) => sum + output.numOutputTokens, 0),
      // The first choice computes the prompt; the others reuse its blocks, which is no cache hit.
      cachedTokens: Math.max(0, this.seqs[0].numCachedPromptTokens),
    };
  }

  /** One message with the given choices' updates; usage and timings when the request is done. */
  response(updates: ReadonlyMap<number, ChoiceUpdate>): EngineGenerateResponse__Output {
    const choices: ChoiceDelta__Output[] = [...updates].map(([index, update]) => ({
      index,
      tokenIds: update.tokenIds,
      text: update.text,
      logprobs: update.logprobs,
      finishReason: update.finishReason,
      stopReason: update.stopReason,
    }));
    const done = this.finished;
    const now = performance.now();
    const since = (time: number | null): number => (time === null ? 0 : (time - this.arrivalTime) / 1000);
    return {
      requestId: this.params.requestId,
      choices,
      usage: done ? this.usage() : null,
      queueSeconds: done ? since(this.firstScheduledTime) : 0,
      ttftSeconds: done ? since(this.firstTokenTime) : 0,
      e2eSeconds: done ? since(now) : 0,
    };
  }
}
