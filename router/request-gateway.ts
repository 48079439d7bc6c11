// The part of the router both public APIs go through: the served model and its replicas, the
// admission check (refused while draining), and the registry of in-flight runs that the gRPC
// Abort call and the SIGTERM drain act on.
import { randomBytes } from 'node:crypto';
import type { RouterMetrics } from '../coordinator/metrics/router-metrics.ts';
import { badParam, toApiError, unavailable, unknownModel } from './api-error.ts';
import { buildEngineRequest, type PromptInput } from './engine-request.ts';
import type { GenerationOptions } from './generation-params.ts';
import { GenerationRun, type RunUpdate } from './generation-run.ts';
import type { ReplicaSet } from './replica-set.ts';
import type { ServedModel } from './served-model.ts';

export function newRequestId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

export class RequestGateway {
  private readonly runs = new Map<string, GenerationRun>();
  private readonly idleWaiters: Array<() => void> = [];
  private drainingSince: number | undefined;

  constructor(
    readonly model: ServedModel,
    readonly replicas: ReplicaSet,
    /** How long a requested abort may take before the upstream call is cancelled. */
    private readonly abortGraceMs = 2000,
    /** Request latency and token counts as clients see them (GET /metrics). */
    readonly metrics?: RouterMetrics,
  ) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Serving: not draining and at least one replica is ready. */
  get ready(): boolean {
    return !this.draining && this.replicas.anyReady;
  }

  get inFlight(): number {
    return this.runs.size;
  }

  /** A request's model must be the served one; empty or absent means the served one. */
  checkModel(model: string | undefined): void {
    if (model !== undefined && model !== '' && model !== this.model.name) throw unknownModel(model, this.model.name);
  }

  /** The context length: the checkpoint's, or less when a replica's KV memory allows less. */
  get maxModelLen(): number {
    const reported = this.replicas.reportedMaxModelLen;
    return reported > 0 ? Math.min(reported, this.model.maxModelLen) : this.model.maxModelLen;
  }

  /** Validates against the context and registers a run; throws ApiError when it cannot start. */
  open(requestId: string, sessionId: string, prompt: PromptInput, options: GenerationOptions): GenerationRun {
    if (this.draining) throw unavailable('the server is shutting down', 'shutting_down');
    if (this.runs.has(requestId)) throw badParam('request_id', `${JSON.stringify(requestId)} is already running`, 'duplicate_request_id');
    const request = buildEngineRequest(requestId, sessionId, prompt, options, this.maxModelLen);
    const run = new GenerationRun(this.replicas, request, prompt, this.abortGraceMs);
    this.runs.set(requestId, run);
    return run;
  }

  /** Streams a run's updates (observed for metrics) and unregisters it however the stream ends. */
  async *stream(run: GenerationRun): AsyncGenerator<RunUpdate> {
    const observed = this.metrics?.startRequest(() => run.replica);
    try {
      for await (const update of run.updates()) {
        observed?.update(update);
        yield update;
      }
    } catch (err) {
      observed?.failed(toApiError(err).code ?? 'error');
      throw err;
    } finally {
      observed?.end();
      this.runs.delete(run.requestId);
      if (this.runs.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** The public Abort: true when the request was in flight here. */
  abort(requestId: string): boolean {
    const run = this.runs.get(requestId);
    run?.abort('requested');
    return run !== undefined;
  }

  /**
   * Stops admitting, lets in-flight runs finish for up to `graceMs`, then aborts the rest and
   * waits (bounded) for their streams to close.
   */
  async drain(graceMs: number): Promise<void> {
    this.drainingSince ??= Date.now();
    if (!(await this.idleWithin(graceMs))) {
      for (const run of this.runs.values()) run.abort('requested');
      await this.idleWithin(this.abortGraceMs + 1000);
    }
  }

  private idleWithin(ms: number): Promise<boolean> {
    if (this.runs.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
