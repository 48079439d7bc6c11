// The coordinator's handle on one tensor-parallel group: a gRPC client per rank, Load on all
// ranks at once (they join one collective), and every step fanned out to all ranks with a
// deadline, over each rank's long-lived StepStream. Rank 0's response carries the sampled
// tokens. One failed rank fails the group: its collectives are broken, so no later step could
// be trusted.
import * as grpc from '@grpc/grpc-js';
import { loadWorkerProto } from '../../proto/load.ts';
import type { WorkerServiceClient } from '../../proto/gen/m2/v1/WorkerService.ts';
import type { LoadRequest } from '../../proto/gen/m2/v1/LoadRequest.ts';
import type { LoadResponse__Output } from '../../proto/gen/m2/v1/LoadResponse.ts';
import type { ShardInfoResponse__Output } from '../../proto/gen/m2/v1/ShardInfoResponse.ts';
import type { StepRequest } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';
import type { HealthResponse__Output } from '../../proto/gen/m2/v1/HealthResponse.ts';
import { StepChannel } from './step-channel.ts';

export class WorkerGroupError extends Error {
  override readonly name = 'WorkerGroupError';
  constructor(message: string, readonly rank: number, readonly grpcCode?: grpc.status) {
    super(message);
  }
}

export interface WorkerGroupOptions {
  /** host:port of each rank's WorkerService, in rank order. */
  addresses: string[];
  stepTimeoutMs: number;
  loadTimeoutMs: number;
}

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;

/** Promise form of a unary call with a deadline (the generated client only has callbacks). */
function call<Res>(timeoutMs: number, invoke: (meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => void): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke(new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err || !res) reject(err ?? new Error('empty response'));
      else resolve(res);
    });
  });
}

export class WorkerGroup {
  private readonly clients: WorkerServiceClient[];
  private readonly stepChannels: StepChannel[];
  private failure: WorkerGroupError | null = null;
  private shards: ShardInfoResponse__Output[] = [];
  /** Steps and probes run one at a time: ranks must meet in their collectives in the same order. */
  private collectiveQueue: Promise<unknown> = Promise.resolve();
  private stepsInFlight = 0;

  constructor(private readonly opts: WorkerGroupOptions) {
    const proto = loadWorkerProto();
    this.clients = opts.addresses.map((addr) => new proto.m2.v1.WorkerService(addr, grpc.credentials.createInsecure()));
    this.stepChannels = this.clients.map((c) => new StepChannel(c, opts.stepTimeoutMs));
  }

  get tpSize(): number {
    return this.clients.length;
  }

  get shardInfo(): readonly ShardInfoResponse__Output[] {
    return this.shards;
  }

  /** Null while every rank is healthy; the error that broke the group otherwise. */
  get error(): WorkerGroupError | null {
    return this.failure;
  }

  private fail(rank: number, what: string, err: unknown): WorkerGroupError {
    const e = err as grpc.ServiceError;
    const detail = e.details || e.message;
    const error = new WorkerGroupError(`rank ${rank} ${what} failed: ${detail}`, rank, e.code);
    this.failure ??= error;
    return error;
  }

  private async all<Res>(what: string, fn: (client: WorkerServiceClient, rank: number) => Promise<Res>): Promise<Res[]> {
    if (this.failure) throw this.failure;
    const calls = this.clients.map((c, rank) => fn(c, rank));
    // A rank whose process is gone (UNAVAILABLE) fails the call at once: its live peers may be
    // blocked in a collective until their own deadline, and waiting for them adds nothing.
    const deadRank = new Promise<{ rank: number; reason: unknown }>((resolve) => {
      calls.forEach((p, rank) =>
        p.catch((reason: unknown) => {
          if ((reason as grpc.ServiceError).code === grpc.status.UNAVAILABLE) resolve({ rank, reason });
        }),
      );
    });
    const outcome = await Promise.race([Promise.allSettled(calls), deadRank]);
    if (!Array.isArray(outcome)) throw this.fail(outcome.rank, what, outcome.reason);
    const rejected = outcome.findIndex((s) => s.status === 'rejected');
    if (rejected >= 0) throw this.fail(rejected, what, (outcome[rejected] as PromiseRejectedResult).reason);
    return outcome.map((s) => (s as PromiseFulfilledResult<Res>).value);
  }

  /** Loads every rank (concurrently: they meet in the collective) and checks they agree. */
  async load(base: Omit<LoadRequest, 'rank' | 'tpSize'>): Promise<ShardInfoResponse__Output[]> {
    const responses = await this.all('Load', (c, rank) =>
      call<LoadResponse__Output>(this.opts.loadTimeoutMs, (m, o, cb) => c.Load({ ...base, rank, tpSize: this.clients.length }, m, o, cb)),
    );
    this.shards = responses.map((r) => r.shard!);
    const fingerprints = new Set(this.shards.map((s) => s.modelFingerprint));
    if (fingerprints.size !== 1) {
      throw (this.failure = new WorkerGroupError(`ranks loaded different models (fingerprints ${[...fingerprints].join(', ')})`, 0));
    }
    return this.shards;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.collectiveQueue.then(fn, fn);
    this.collectiveQueue = run.catch(() => undefined);
    return run;
  }

  /** A step is queued or running: its answer (or failure) will say whether the ranks are alive. */
  get stepping(): boolean {
    return this.stepsInFlight > 0;
  }

  /** Sends the step to every rank; returns rank 0's response with the slowest rank's timings. */
  async step(req: StepRequest): Promise<StepResponse__Output> {
    this.stepsInFlight++;
    let responses: StepResponse__Output[];
    try {
      responses = await this.exclusive(() => this.all('Step', (_, rank) => this.stepChannels[rank].step(req)));
    } finally {
      this.stepsInFlight--;
    }
    const rank0 = responses[0];
    for (const r of responses) {
      if (!r.timings || !rank0.timings) continue;
      rank0.timings.forwardNs = Math.max(rank0.timings.forwardNs, r.timings.forwardNs);
      rank0.timings.collectiveNs = Math.max(rank0.timings.collectiveNs, r.timings.collectiveNs);
    }
    return rank0;
  }

  async release(seqIds: readonly number[]): Promise<void> {
    if (seqIds.length === 0) return;
    await this.all('ReleaseSequences', (c) => call(this.opts.stepTimeoutMs, (m, o, cb) => c.ReleaseSequences({ seqIds: [...seqIds] }, m, o, cb)));
  }

  /** A one-token forward pass on every rank (collectives included), queued behind any step. */
  async probe(): Promise<void> {
    await this.exclusive(() => this.all('ProbeStep', (c) => call(this.opts.stepTimeoutMs, (m, o, cb) => c.ProbeStep({}, m, o, cb))));
  }

  async health(timeoutMs: number): Promise<HealthResponse__Output[]> {
    return Promise.all(this.clients.map((c) => call<HealthResponse__Output>(timeoutMs, (m, o, cb) => c.Health({}, m, o, cb))));
  }

  close(): void {
    for (const s of this.stepChannels) s.close();
    for (const c of this.clients) c.close();
  }
}
