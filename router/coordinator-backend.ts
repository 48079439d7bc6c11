// The router's view of one model replica: a gRPC client to its coordinator with a deadline on
// every call (one slow or dead replica must never hang a request routed elsewhere), and its
// latest Stats, polled in the background, which say whether it is ready and how loaded it is.
import * as grpc from '@grpc/grpc-js';
import { loadCoordinatorProto } from '../proto/load.ts';
import type { CoordinatorServiceClient } from '../proto/gen/m2/v1/CoordinatorService.ts';
import type { EngineGenerateRequest } from '../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse__Output } from '../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { StatsResponse__Output } from '../proto/gen/m2/v1/StatsResponse.ts';

export interface BackendTimeouts {
  /** Deadline of one Stats poll, and how often they run. */
  statsTimeoutMs: number;
  statsIntervalMs: number;
  /** Deadline of an Abort call. */
  abortTimeoutMs: number;
  /** Deadline of a whole Generate stream. */
  generateTimeoutMs: number;
}

export const DEFAULT_BACKEND_TIMEOUTS: BackendTimeouts = {
  statsTimeoutMs: 2000,
  statsIntervalMs: 1000,
  abortTimeoutMs: 2000,
  generateTimeoutMs: 30 * 60 * 1000,
};

let coordinatorProto: ReturnType<typeof loadCoordinatorProto> | undefined;

export class CoordinatorBackend {
  private readonly client: CoordinatorServiceClient;
  private stats: StatsResponse__Output | undefined;
  private statsAt = 0;
  /** inFlight when the latest Stats answer arrived: the part of its count that was ours. */
  private inFlightAtStats = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set when a call failed with UNAVAILABLE; cleared by the next successful Stats. */
  private failedSinceStats = false;
  /** Streams this router has open to the replica (load between Stats polls). */
  inFlight = 0;
  /** When this backend was last chosen (tie-break between equally loaded replicas). */
  lastPickedAt = 0;

  constructor(readonly address: string, private readonly timeouts: BackendTimeouts = DEFAULT_BACKEND_TIMEOUTS) {
    coordinatorProto ??= loadCoordinatorProto();
    this.client = new coordinatorProto.m2.v1.CoordinatorService(address, grpc.credentials.createInsecure());
  }

  /** Polls Stats now and then every statsIntervalMs; resolves after the first poll settles. */
  async start(): Promise<void> {
    await this.poll();
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => void this.poll().then(() => this.schedulePoll()), this.timeouts.statsIntervalMs);
    this.pollTimer.unref();
  }

  private poll(): Promise<void> {
    return new Promise((resolve) => {
      this.client.Stats({}, { deadline: Date.now() + this.timeouts.statsTimeoutMs }, (err, res) => {
        if (!err && res) {
          this.stats = res;
          this.statsAt = Date.now();
          this.inFlightAtStats = this.inFlight;
          this.failedSinceStats = false;
        }
        resolve();
      });
    });
  }

  /** Ready: the coordinator said so in a Stats answer that is recent, and no call failed since. */
  get ready(): boolean {
    const fresh = Date.now() - this.statsAt <= 3 * this.timeouts.statsIntervalMs + this.timeouts.statsTimeoutMs;
    return !this.closed && fresh && !this.failedSinceStats && this.stats?.ready === true;
  }

  /** The latest Stats answer (undefined until one succeeded). */
  get latestStats(): StatsResponse__Output | undefined {
    return this.stats;
  }

  /**
   * Requests running or queued on the replica: this router's own, known now, plus the others'
   * (other routers') as of the latest Stats. A Stats answer is up to a poll interval old, and
   * counting its requests of ours that have since ended made an idle replica look busy.
   */
  get load(): number {
    const reported = this.stats ? this.stats.numRunning + this.stats.numWaiting : 0;
    return Math.max(0, reported - this.inFlightAtStats) + this.inFlight;
  }

  /** Takes the replica out of rotation until its next successful Stats poll. */
  markFailed(): void {
    this.failedSinceStats = true;
  }

  /** Starts a Generate stream; iterate it with `for await`, cancel it with `.cancel()`. */
  generate(request: EngineGenerateRequest): grpc.ClientReadableStream<EngineGenerateResponse__Output> {
    return this.client.Generate(request, { deadline: Date.now() + this.timeouts.generateTimeoutMs });
  }

  /** Best-effort Abort: resolves with whether the coordinator knew the request (false on errors). */
  abort(requestId: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.client.Abort({ requestId }, { deadline: Date.now() + this.timeouts.abortTimeoutMs }, (err, res) => resolve(!err && res?.found === true));
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.pollTimer);
    this.client.close();
  }
}
