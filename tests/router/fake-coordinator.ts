// A scripted m2.v1.CoordinatorService for router tests: it "generates" the token ids of a known
// text (detokenized incrementally like the real coordinator, two tokens per update so the router
// sees multi-token deltas), honours n / max_tokens / logprobs / ignore_eos, and records every
// request, Abort and cancellation so tests can check what reached the coordinator.
import * as grpc from '@grpc/grpc-js';
import { IncrementalDetokenizer } from '../../coordinator/text/detokenizer.ts';
import type { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';
import { bindAsync } from '../../router/grpc/grpc-server.ts';
import { loadCoordinatorProto } from '../../proto/load.ts';
import type { ChoiceDelta } from '../../proto/gen/m2/v1/ChoiceDelta.ts';
import type { EngineGenerateRequest__Output } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { StatsResponse } from '../../proto/gen/m2/v1/StatsResponse.ts';

/** script: emit the text; hold: emit one update, then wait for Abort or cancellation. */
export type FakeMode = 'script' | 'hold' | 'queue_full' | 'unavailable';

const IM_END = 151645;

export class FakeCoordinator {
  mode: FakeMode = 'script';
  outputText = 'Let me think.</think>\n\nThe answer is 4.';
  tokensPerUpdate = 2;
  /** Pause between updates (ms); drain tests make streams slow. */
  updateDelayMs = 0;
  cachedTokens = 3;
  stats: StatsResponse = { ready: true, maxModelLen: 4096, numRunning: 0, numWaiting: 0, model: 'tiny' };
  readonly requests: EngineGenerateRequest__Output[] = [];
  readonly aborts: string[] = [];
  readonly cancelled: string[] = [];
  statsCalls = 0;
  private readonly abortWaiters = new Map<string, () => void>();

  private constructor(private readonly server: grpc.Server, readonly address: string, private readonly tokenizer: QwenTokenizer) {}

  static async start(tokenizer: QwenTokenizer): Promise<FakeCoordinator> {
    const server = new grpc.Server();
    const port = await bindAsync(server, '127.0.0.1:0');
    const fake = new FakeCoordinator(server, `127.0.0.1:${port}`, tokenizer);
    server.addService(loadCoordinatorProto().m2.v1.CoordinatorService.service, {
      Generate: (call: grpc.ServerWritableStream<EngineGenerateRequest__Output, EngineGenerateResponse>) => void fake.generate(call),
      Abort: (call: grpc.ServerUnaryCall<{ requestId: string }, { found: boolean }>, cb: grpc.sendUnaryData<{ found: boolean }>) => {
        fake.aborts.push(call.request.requestId);
        const wake = fake.abortWaiters.get(call.request.requestId);
        wake?.();
        cb(null, { found: wake !== undefined });
      },
      Stats: (_call: unknown, cb: grpc.sendUnaryData<StatsResponse>) => {
        fake.statsCalls++;
        cb(null, fake.stats);
      },
    });
    return fake;
  }

  /** The last Generate request that reached the fake. */
  get lastRequest(): EngineGenerateRequest__Output {
    const last = this.requests.at(-1);
    if (!last) throw new Error('no Generate request reached the fake coordinator');
    return last;
  }

  close(): void {
    this.server.forceShutdown();
  }

  private async generate(call: grpc.ServerWritableStream<EngineGenerateRequest__Output, EngineGenerateResponse>): Promise<void> {
    const req = call.request;
    this.requests.push(req);
    if (this.mode === 'queue_full') return void call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'waiting queue is full (256)' });
    if (this.mode === 'unavailable') return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'workers are gone' });
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
      this.cancelled.push(req.requestId);
      this.abortWaiters.get(req.requestId)?.();
    });
    const params = req.params!;
    const ids = this.tokenizer.encode(this.outputText, { addSpecialTokens: false });
    if (!params.ignoreEos) ids.push(IM_END);
    const total = Math.min(ids.length, params.maxTokens);
    const n = params.n || 1;
    const detoks = Array.from({ length: n }, () => new IncrementalDetokenizer(this.tokenizer, { skipSpecialTokens: !params.includeSpecialTokens }));
    const logprobs = params.sampling?.logprobs ?? -1;
    for (let at = 0; at < total && !cancelled; at += this.tokensPerUpdate) {
      const step = ids.slice(at, Math.min(at + this.tokensPerUpdate, total));
      const last = at + step.length >= total;
      const choices = detoks.map((detok, index): ChoiceDelta => ({
        index,
        tokenIds: step,
        text: step.map((id) => detok.push(id)).join('') + (last ? detok.flush() : ''),
        logprobs: logprobs < 0 ? [] : step.map((tokenId, i) => ({
          tokenId,
          logprob: -0.25 * (at + i + 1),
          topLogprobs: Array.from({ length: logprobs }, (_, k) => ({ tokenId: tokenId + k, logprob: -0.25 * (at + i + 1) - k })),
        })),
        finishReason: last ? (total < ids.length || params.ignoreEos ? 'length' : 'stop') : '',
      }));
      const message: EngineGenerateResponse = { requestId: req.requestId, choices };
      if (last) message.usage = { promptTokens: req.promptTokenIds.length, completionTokens: total * n, cachedTokens: this.cachedTokens };
      call.write(message);
      if (this.mode === 'hold' && !last) {
        const aborted = await new Promise<boolean>((resolve) => {
          this.abortWaiters.set(req.requestId, () => resolve(!cancelled));
        });
        this.abortWaiters.delete(req.requestId);
        if (aborted) {
          call.write({ requestId: req.requestId, choices: detoks.map((_, index) => ({ index, finishReason: 'abort' })), usage: { promptTokens: req.promptTokenIds.length, completionTokens: step.length * n, cachedTokens: 0 } });
        }
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, this.updateDelayMs));
    }
    if (!cancelled) call.end();
  }
}
