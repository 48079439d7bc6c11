// m2.v1.CoordinatorService over one replica's Engine: Generate streams the engine's updates (a
// cancelled call aborts the request and frees its blocks at once), Abort, and Stats for the
// router's readiness and load decisions. EngineError codes are named after gRPC statuses, so
// they map one to one; the router turns them into HTTP answers (OUT_OF_RANGE -> 400
// context_length_exceeded, RESOURCE_EXHAUSTED -> 429, UNAVAILABLE -> retry on another replica).
import * as grpc from '@grpc/grpc-js';
import type { CoordinatorServiceHandlers } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import type { EngineGenerateRequest__Output } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { StatsResponse } from '../../proto/gen/m2/v1/StatsResponse.ts';
import { EngineError, type Engine } from '../engine/index.ts';
import type { EngineMetrics } from '../metrics/engine-metrics.ts';
import type { ReadinessState } from './readiness.ts';

export interface CoordinatorServiceOptions {
  engine: Engine;
  /** Served model name (Stats.model). */
  modelName: string;
  tpSize: number;
  readiness: () => ReadinessState;
  /** Observes each request's final message (queue time). */
  metrics?: EngineMetrics;
}

function serviceError(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details, metadata: new grpc.Metadata() };
}

/** An engine failure as a gRPC status; anything that is not an EngineError is INTERNAL. */
export function statusOf(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof EngineError) return serviceError(grpc.status[err.code], err.message);
  return serviceError(grpc.status.INTERNAL, `coordinator error: ${err instanceof Error ? err.message : String(err)}`);
}

export class CoordinatorService {
  private readonly openCalls = new Set<grpc.ServerWritableStream<EngineGenerateRequest__Output, EngineGenerateResponse__Output>>();
  private readonly idleWaiters: Array<() => void> = [];
  private admitting = true;

  constructor(private readonly opts: CoordinatorServiceOptions) {}

  /** Generate streams currently open. */
  get numOpenCalls(): number {
    return this.openCalls.size;
  }

  /** Ready to take requests: admitting and the worker group is ready. */
  readiness(): ReadinessState {
    if (!this.admitting) return { ...this.opts.readiness(), ready: false, reason: 'the coordinator is shutting down' };
    return this.opts.readiness();
  }

  /** New Generate calls are refused with UNAVAILABLE (the router retries them on another replica). */
  stopAdmitting(): void {
    this.admitting = false;
  }

  /** Resolves true once no Generate call is open, false if `ms` passed first. */
  whenIdle(ms: number): Promise<boolean> {
    if (this.openCalls.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  handlers(): CoordinatorServiceHandlers {
    return {
      Generate: (call) => void this.generate(call),
      Abort: (call, callback) => callback(null, { found: this.opts.engine.abort(call.request.requestId) }),
      Stats: (_call, callback) => callback(null, this.stats()),
    };
  }

  stats(): StatsResponse {
    const s = this.opts.engine.stats();
    return {
      numRunning: s.numRunning,
      numWaiting: s.numWaiting,
      kvCacheUsage: s.kvCacheUsage,
      numKvBlocks: s.numKvBlocks,
      blockSize: s.blockSize,
      cachedBlockHashes: s.cachedBlockHashes,
      ready: this.readiness().ready,
      model: this.opts.modelName,
      maxModelLen: s.maxModelLen,
      tpSize: this.opts.tpSize,
    };
  }

  private async generate(call: grpc.ServerWritableStream<EngineGenerateRequest__Output, EngineGenerateResponse__Output>): Promise<void> {
    let stream: AsyncIterable<EngineGenerateResponse__Output>;
    try {
      stream = this.admit(call.request);
    } catch (err) {
      call.emit('error', statusOf(err));
      return;
    }
    this.openCalls.add(call);
    const requestId = call.request.requestId;
    // Abort now, not at the next token: the engine frees the blocks and ends the stream.
    call.once('cancelled', () => this.opts.engine.abort(requestId));
    let streamed = false;
    try {
      for await (const update of stream) {
        if (call.cancelled) break;
        this.opts.metrics?.observeResponse(update);
        call.write(update);
        streamed = true;
      }
      if (!call.cancelled) call.end();
    } catch (err) {
      // Admitted just before the group broke and nothing sent yet: UNAVAILABLE, so the router
      // retries it on another replica instead of failing a request that never started.
      const retryElsewhere = !streamed && this.opts.readiness().groupFailed;
      const failure = retryElsewhere ? new EngineError('UNAVAILABLE', err instanceof Error ? err.message : String(err)) : err;
      if (!call.cancelled) call.emit('error', statusOf(failure));
    } finally {
      this.openCalls.delete(call);
      if (this.openCalls.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private admit(request: EngineGenerateRequest__Output): AsyncIterable<EngineGenerateResponse__Output> {
    if (!this.admitting) throw new EngineError('UNAVAILABLE', 'the coordinator is shutting down');
    const readiness = this.opts.readiness();
    // A broken group fails every step: send the request to a healthy replica instead.
    if (readiness.groupFailed) throw new EngineError('UNAVAILABLE', readiness.reason);
    return this.opts.engine.generate(request);
  }
}
