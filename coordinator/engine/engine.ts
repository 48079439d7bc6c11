// The coordinator's engine loop: admits requests, asks the scheduler for the next step, runs it
// on the executor, and turns sampled tokens into per-request response streams. One step is in
// flight at a time; requests and aborts arriving meanwhile take effect at the next step (blocks an
// abort frees cannot be handed out before the in-flight step returns).
import { randomInt } from 'node:crypto';
import type { EngineGenerateRequest } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { SamplingParams__Output } from '../../proto/gen/m2/v1/SamplingParams.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';
import { BlockManager } from './block-manager.ts';
import { resolveEngineConfig, type EngineConfig, type EngineConfigInput } from './config.ts';
import { EngineError } from './errors.ts';
import type { StepExecutor } from './executor.ts';
import { ChoiceOutputProcessor, type ChoiceUpdate, type Detokenizer } from './output-processor.ts';
import { resolveRequest } from './request-params.ts';
import { RequestState } from './request-state.ts';
import { ResponseStream } from './response-stream.ts';
import { Scheduler, type ScheduledChunk } from './scheduler.ts';
import { Sequence } from './sequence.ts';
import { buildStepRequest, chunkSamples } from './step-builder.ts';

export interface EngineOptions {
  /** A fresh incremental detokenizer for one choice. */
  createDetokenizer(options: { skipSpecialTokens: boolean }): Detokenizer;
  /** Seed for a request with seed_unset; default: a cryptographically random 47-bit integer. */
  drawSeed?: () => number;
}

/** Load and cache state (CoordinatorService.Stats and the vllm:* metrics). */
export interface EngineStats {
  /** Sequences (choices) in the running batch and waiting for admission. */
  numRunning: number;
  numWaiting: number;
  kvCacheUsage: number;
  numKvBlocks: number;
  blockSize: number;
  maxModelLen: number;
  /** Prefix-cache block hashes (block-hash.ts), most recently used first, capped. */
  cachedBlockHashes: number[];
  numPreemptions: number;
  prefixCacheQueryTokens: number;
  prefixCacheHitTokens: number;
  numSteps: number;
  /** Date.now() of the last successful step, null before the first. */
  lastStepTime: number | null;
  /** Message of the last executor failure, '' if none. */
  lastError: string;
}

/** Penalties read the sequence's token history on rank 0 (see Sequence.usesPrefixCache). */
function usesPenalties(s: SamplingParams__Output): boolean {
  return s.repetitionPenalty !== 1 || s.presencePenalty !== 0 || s.frequencyPenalty !== 0;
}

export class Engine {
  readonly config: EngineConfig;
  private readonly blocks: BlockManager;
  private readonly scheduler: Scheduler;
  private readonly requests = new Map<string, RequestState>();
  private readonly requestOfSeq = new Map<Sequence, RequestState>();
  private readonly drawSeed: () => number;
  private nextSeqId = 1;
  private numSteps = 0;
  private lastStepTime: number | null = null;
  private lastError = '';
  private pendingReleases: number[] = [];
  private closed = false;
  private wakeLoop: (() => void) | null = null;
  private readonly loop: Promise<void>;

  constructor(
    private readonly executor: StepExecutor,
    config: EngineConfigInput,
    private readonly options: EngineOptions,
  ) {
    this.config = resolveEngineConfig(config);
    this.blocks = new BlockManager(this.config.numKvBlocks, this.config.blockSize);
    this.scheduler = new Scheduler(this.blocks, this.config);
    this.drawSeed = options.drawSeed ?? (() => randomInt(0, 2 ** 47));
    this.loop = this.run();
  }

  /**
   * Admits a request and returns its stream of updates (each choice's last update carries its
   * finish_reason; the message that finishes the request carries usage and timings). Throws
   * EngineError synchronously: INVALID_ARGUMENT, OUT_OF_RANGE, ALREADY_EXISTS, RESOURCE_EXHAUSTED,
   * UNAVAILABLE.
   * The stream rejects with EngineError('INTERNAL') when a step of the request fails. Leaving the
   * iteration early aborts the request.
   */
  generate(request: EngineGenerateRequest): AsyncIterable<EngineGenerateResponse__Output> {
    if (this.closed) throw new EngineError('UNAVAILABLE', 'the engine is shut down');
    const params = resolveRequest(request, this.config, this.drawSeed);
    if (this.requests.has(params.requestId)) {
      throw new EngineError('ALREADY_EXISTS', `request id ${params.requestId} is already running`);
    }
    let numQueued = 0;
    for (const state of this.requests.values()) if (state.firstScheduledTime === null) numQueued++;
    if (numQueued >= this.config.maxWaitingRequests) {
      throw new EngineError('RESOURCE_EXHAUSTED', `the waiting queue is full (${numQueued} requests); retry later`);
    }
    const seqs: Sequence[] = [];
    for (let choice = 0; choice < params.n; choice++) {
      const leader = choice === 0 ? null : seqs[0];
      seqs.push(new Sequence(this.nextSeqId++, choice, params.promptTokenIds, this.config.blockSize, leader, !usesPenalties(params.sampling)));
    }
    const outputs = seqs.map(
      () =>
        new ChoiceOutputProcessor(this.options.createDetokenizer({ skipSpecialTokens: !params.includeSpecialTokens }), {
          stop: params.stop,
          stopTokenIds: params.stopTokenIds,
          eosTokenIds: this.config.eosTokenIds,
          ignoreEos: params.ignoreEos,
          minTokens: params.minTokens,
          maxTokens: params.maxTokens,
          includeLogprobs: params.sampling.logprobs >= 0,
        }),
    );
    const stream = new ResponseStream<EngineGenerateResponse__Output>(() => this.abort(params.requestId));
    const state = new RequestState(params, seqs, outputs, stream);
    this.requests.set(params.requestId, state);
    for (const seq of seqs) {
      this.requestOfSeq.set(seq, state);
      this.scheduler.add(seq);
    }
    this.wake();
    return stream;
  }

  /** Ends a request at once (waiting, mid-prefill or mid-decode), freeing its blocks; false if unknown. */
  abort(requestId: string): boolean {
    const state = this.requests.get(requestId);
    if (state === undefined) return false;
    const updates = new Map<number, ChoiceUpdate>();
    state.outputs.forEach((output, index) => {
      if (!output.finished) updates.set(index, output.abort());
    });
    this.endRequest(state);
    state.stream.push(state.response(updates));
    state.stream.end();
    return true;
  }

  stats(): EngineStats {
    return {
      numRunning: this.scheduler.numRunning,
      numWaiting: this.scheduler.numWaiting,
      kvCacheUsage: this.blocks.usage,
      numKvBlocks: this.config.numKvBlocks,
      blockSize: this.config.blockSize,
      maxModelLen: this.config.maxModelLen,
      cachedBlockHashes: this.blocks.cachedBlockHashes(this.config.maxReportedBlockHashes),
      numPreemptions: this.scheduler.numPreemptions,
      prefixCacheQueryTokens: this.scheduler.prefixQueryTokens,
      prefixCacheHitTokens: this.scheduler.prefixHitTokens,
      numSteps: this.numSteps,
      lastStepTime: this.lastStepTime,
      lastError: this.lastError,
    };
  }

  /** Throws when scheduling or KV bookkeeping is inconsistent; with no live request, the leak check. */
  checkInvariants(): void {
    this.scheduler.checkInvariants();
    for (const [seq, state] of this.requestOfSeq) {
      if (seq.status === 'finished' || this.requests.get(state.params.requestId) !== state) {
        throw new Error(`engine: sequence ${seq.seqId} is tracked after its request ended`);
      }
    }
  }

  /** Aborts every request, waits for the in-flight step, releases rank state and stops the loop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const requestId of [...this.requests.keys()]) this.abort(requestId);
    this.wake();
    await this.loop;
    await this.flushReleases();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      await this.flushReleases();
      // close() may have run while the release was in flight; its wake() found no waiter.
      if (this.closed) break;
      if (!this.scheduler.hasWork) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      const chunks = this.scheduler.schedule();
      try {
        if (chunks.length === 0) throw new EngineError('INTERNAL', 'the scheduler found no runnable work');
        await this.runStep(chunks);
      } catch (error) {
        const affected = new Set<RequestState>();
        for (const { seq } of chunks) {
          const state = this.requestOfSeq.get(seq);
          if (state !== undefined) affected.add(state);
        }
        this.failRequests(chunks.length > 0 ? affected : new Set(this.requests.values()), error);
      }
    }
  }

  private async runStep(chunks: readonly ScheduledChunk[]): Promise<void> {
    const stepId = ++this.numSteps;
    const scheduledAt = performance.now();
    for (const { seq } of chunks) this.stateOf(seq).firstScheduledTime ??= scheduledAt;
    const sampled = chunks.filter(chunkSamples).map((chunk) => chunk.seq);
    const request = buildStepRequest(stepId, chunks, (seq) => this.stateOf(seq).samplingFor(seq));
    let response: StepResponse__Output;
    try {
      response = await this.executor.step(request);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EngineError('INTERNAL', `step ${stepId} failed on the workers: ${reason}`, { cause: error });
    }
    this.lastStepTime = Date.now();
    this.scheduler.completeStep(chunks);
    this.processOutputs(stepId, sampled, response);
  }

  private processOutputs(stepId: number, sampled: readonly Sequence[], response: StepResponse__Output): void {
    const outputBySeq = new Map(response.outputs.map((output) => [output.seqId, output]));
    const updates = new Map<RequestState, Map<number, ChoiceUpdate>>();
    const now = performance.now();
    for (const seq of sampled) {
      if (seq.status !== 'running') continue; // aborted while the step ran
      const state = this.stateOf(seq);
      const token = outputBySeq.get(seq.seqId)?.tokens[0];
      if (token === undefined || !Number.isInteger(token.tokenId) || token.tokenId < 0 || token.tokenId >= this.config.vocabSize) {
        const what = token === undefined ? 'no token' : `token id ${token.tokenId}`;
        this.failRequests(new Set([state]), new EngineError('INTERNAL', `step ${stepId}: the workers returned ${what} for sequence ${seq.seqId}`));
        continue;
      }
      seq.appendToken(token.tokenId);
      state.firstTokenTime ??= now;
      const update = state.outputs[seq.choiceIndex].append(token);
      if (update.finishReason !== '') this.endSequence(seq);
      let forRequest = updates.get(state);
      if (forRequest === undefined) updates.set(state, (forRequest = new Map()));
      forRequest.set(seq.choiceIndex, update);
    }
    for (const [state, forRequest] of updates) {
      if (this.requests.get(state.params.requestId) !== state) continue; // failed in this step
      state.stream.push(state.response(forRequest));
      if (state.finished) {
        this.requests.delete(state.params.requestId);
        state.stream.end();
      }
    }
  }

  /** Fails each request with `error` (as EngineError('INTERNAL') unless it is one). */
  private failRequests(states: Set<RequestState>, error: unknown): void {
    const failure =
      error instanceof EngineError
        ? error
        : new EngineError('INTERNAL', `engine step failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    this.lastError = failure.message;
    for (const state of states) {
      if (this.requests.get(state.params.requestId) !== state) continue;
      this.endRequest(state);
      state.stream.fail(failure);
    }
  }

  private endRequest(state: RequestState): void {
    for (const seq of state.seqs) if (seq.status !== 'finished') this.endSequence(seq);
    this.requests.delete(state.params.requestId);
  }

  private endSequence(seq: Sequence): void {
    this.scheduler.finish(seq);
    this.requestOfSeq.delete(seq);
    if (seq.wasAdmitted) this.pendingReleases.push(seq.seqId);
  }

  private stateOf(seq: Sequence): RequestState {
    const state = this.requestOfSeq.get(seq);
    if (state === undefined) throw new Error(`engine: sequence ${seq.seqId} has no request`);
    return state;
  }

  private async flushReleases(): Promise<void> {
    if (this.pendingReleases.length === 0) return;
    const seqIds = this.pendingReleases;
    this.pendingReleases = [];
    try {
      await this.executor.release(seqIds);
    } catch (error) {
      this.lastError = `releasing sequences failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = null;
    wake?.();
  }
}
