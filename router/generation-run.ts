// One request's trip through a replica, shared by the HTTP and gRPC front ends: pick a ready
// replica (another one if the first is unreachable before anything streamed), stream the
// coordinator's updates with reasoning split from content per choice, and abort upstream when the
// client goes away, the public Abort asks, or a drain runs out of time.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { EngineGenerateRequest } from '../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse__Output } from '../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { SampledToken__Output } from '../proto/gen/m2/v1/SampledToken.ts';
import { isServiceError, toApiError } from './api-error.ts';
import { ChoiceSplitter } from './choice-splitter.ts';
import type { CoordinatorBackend } from './coordinator-backend.ts';
import type { PromptInput } from './engine-request.ts';
import type { ReplicaSet } from './replica-set.ts';

export type FinishReason = 'stop' | 'length' | 'abort';

export interface ChoiceUpdate {
  index: number;
  tokenIds: number[];
  /** The raw text delta, as the coordinator detokenized it. */
  text: string;
  reasoning: string;
  content: string;
  logprobs: SampledToken__Output[];
  /** Set on the choice's last update. */
  finishReason?: FinishReason;
}

export interface UsageCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export interface RunUpdate {
  choices: ChoiceUpdate[];
  /** On the last update only. */
  usage?: UsageCounts;
}

/** Why a run is aborted: its client is gone (cancel now) or it was asked to stop (let it finish). */
export type AbortCause = 'client_gone' | 'requested';

function finishReasonOf(raw: string): FinishReason | undefined {
  if (raw === '') return undefined;
  return raw === 'stop' || raw === 'length' ? raw : 'abort';
}

export class GenerationRun {
  private backend: CoordinatorBackend | undefined;
  private call: ClientReadableStream<EngineGenerateResponse__Output> | undefined;
  private abortCause: AbortCause | undefined;
  private cancelTimer: NodeJS.Timeout | undefined;
  private readonly splitters: ChoiceSplitter[] = [];
  private readonly finished = new Set<number>();
  private completionTokens = 0;
  private usage: UsageCounts | undefined;

  constructor(
    private readonly replicas: ReplicaSet,
    readonly request: EngineGenerateRequest,
    private readonly prompt: PromptInput,
    /** How long a requested abort may take to end the stream before the call is cancelled. */
    private readonly abortGraceMs: number,
  ) {
    const n = request.params?.n ?? 1;
    for (let i = 0; i < n; i++) this.splitters.push(new ChoiceSplitter(prompt.thinkingMode));
  }

  get requestId(): string {
    return this.request.requestId ?? '';
  }

  /** The address of the replica serving (or last tried for) this run; '' before one is picked. */
  get replica(): string {
    return this.backend?.address ?? '';
  }

  /**
   * Streams the output; exactly one update carries usage (counted here if the stream ended
   * without the coordinator's), usually the last. Throws ApiError when the request fails.
   */
  async *updates(): AsyncGenerator<RunUpdate> {
    yield* this.stream();
    if (!this.usage) {
      this.usage = { promptTokens: this.prompt.tokenIds.length, completionTokens: this.completionTokens, cachedTokens: 0 };
      yield { choices: [], usage: this.usage };
    }
  }

  private async *stream(): AsyncGenerator<RunUpdate> {
    const failed = new Set<CoordinatorBackend>();
    const routing = { requestId: this.requestId, sessionId: this.request.sessionId ?? '', promptTokenIds: this.prompt.tokenIds };
    for (;;) {
      if (this.abortCause) return yield* this.abortedEnd();
      const backend = this.replicas.pick(routing, failed);
      this.backend = backend;
      let received = false;
      backend.inFlight++;
      try {
        this.call = backend.generate(this.request);
        for await (const message of this.call as AsyncIterable<EngineGenerateResponse__Output>) {
          received = true;
          yield this.convert(message);
        }
        if (this.finished.size < this.splitters.length) yield* this.abortedEnd();
        return;
      } catch (err) {
        if (this.abortCause) return yield* this.abortedEnd();
        // Nothing streamed and the replica is unreachable: it never started this request.
        if (!received && isServiceError(err) && err.code === GrpcStatus.UNAVAILABLE) {
          backend.markFailed();
          failed.add(backend);
          continue;
        }
        throw toApiError(err);
      } finally {
        backend.inFlight--;
        clearTimeout(this.cancelTimer);
      }
    }
  }

  /** Aborts upstream. Requested aborts let the coordinator end the stream with "abort" first. */
  abort(cause: AbortCause): void {
    if (this.abortCause === 'client_gone' || (this.abortCause && cause === 'requested')) return;
    this.abortCause = cause;
    if (!this.backend || !this.call) return;
    const call = this.call;
    void this.backend.abort(this.requestId);
    if (cause === 'client_gone') call.cancel();
    else this.cancelTimer = setTimeout(() => call.cancel(), this.abortGraceMs);
  }

  private convert(message: EngineGenerateResponse__Output): RunUpdate {
    const choices = message.choices.map((delta): ChoiceUpdate => {
      const splitter = this.splitters[delta.index];
      if (!splitter) throw new Error(`coordinator sent choice ${delta.index} of a request with n=${this.splitters.length}`);
      this.completionTokens += delta.tokenIds.length;
      const split = splitter.push(delta.tokenIds, delta.text);
      const finishReason = finishReasonOf(delta.finishReason);
      if (finishReason) {
        const tail = splitter.finish();
        split.reasoning = (split.reasoning ?? '') + (tail.reasoning ?? '');
        split.content = (split.content ?? '') + (tail.content ?? '');
        this.finished.add(delta.index);
      }
      return {
        index: delta.index,
        tokenIds: delta.tokenIds,
        text: delta.text,
        reasoning: split.reasoning ?? '',
        content: split.content ?? '',
        logprobs: delta.logprobs,
        finishReason,
      };
    });
    if (message.usage) {
      const { promptTokens, completionTokens, cachedTokens } = message.usage;
      this.usage = { promptTokens, completionTokens, cachedTokens };
    }
    return { choices, usage: message.usage ? this.usage : undefined };
  }

  /** Closes every unfinished choice with "abort" (the stream ended early or was cancelled). */
  private *abortedEnd(): Generator<RunUpdate> {
    const choices: ChoiceUpdate[] = [];
    this.splitters.forEach((splitter, index) => {
      if (this.finished.has(index)) return;
      this.finished.add(index);
      const tail = splitter.finish();
      choices.push({ index, tokenIds: [], text: '', reasoning: tail.reasoning ?? '', content: tail.content ?? '', logprobs: [], finishReason: 'abort' });
    });
    if (choices.length > 0) yield { choices };
  }
}
