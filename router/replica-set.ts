// The replicas behind this router and the choice of one per request. Only ready replicas get
// traffic; among them a ReplicaPolicy decides: least load here, and the router's default,
// session affinity plus prefix-aware scoring (routing/prefix-aware-policy.ts), which is why a
// RoutingRequest carries the session id and the prompt's token ids.
import { unavailable } from './api-error.ts';
import type { CoordinatorBackend } from './coordinator-backend.ts';

/** How often a removed replica checks whether its last stream ended. */
const RETIRE_CHECK_MS = 500;

export interface RoutingRequest {
  requestId: string;
  /** Empty when the client gave none. */
  sessionId: string;
  promptTokenIds: readonly number[];
}

export interface ReplicaPolicy {
  /** Picks one of `ready` (never empty) for the request. */
  choose(ready: readonly CoordinatorBackend[], request: RoutingRequest): CoordinatorBackend;
  /** Told where each request went, so stateful policies (sessions, prefix trees) can learn. */
  routed?(backend: CoordinatorBackend, request: RoutingRequest): void;
}

/** Fewest requests running or waiting; ties go to the replica picked longest ago. */
export class LeastLoadPolicy implements ReplicaPolicy {
  choose(ready: readonly CoordinatorBackend[]): CoordinatorBackend {
    return ready.reduce((best, b) => (b.load < best.load || (b.load === best.load && b.lastPickedAt < best.lastPickedAt) ? b : best));
  }
}

export class ReplicaSet {
  private members: CoordinatorBackend[];

  /** Empty is allowed only when replicas will be added later (`discovered`: NATS membership). */
  constructor(backends: readonly CoordinatorBackend[], private readonly policy: ReplicaPolicy = new LeastLoadPolicy(), discovered = false) {
    if (backends.length === 0 && !discovered) throw new Error('ReplicaSet needs at least one coordinator');
    this.members = [...backends];
  }

  get backends(): readonly CoordinatorBackend[] {
    return this.members;
  }

  /** Adds a replica found after start-up and starts polling it (ready once its first Stats says so). */
  add(backend: CoordinatorBackend): void {
    this.members.push(backend);
    void backend.start();
  }

  /** Takes a replica out of rotation now; its client closes once streams it still serves have ended. */
  remove(backend: CoordinatorBackend): void {
    this.members = this.members.filter((b) => b !== backend);
    if (backend.inFlight === 0) return backend.close();
    const check = setInterval(() => {
      if (backend.inFlight > 0) return;
      clearInterval(check);
      backend.close();
    }, RETIRE_CHECK_MS);
    check.unref();
  }

  /** Resolves once every backend's first Stats poll settled (ready or not). */
  async start(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.start()));
  }

  get anyReady(): boolean {
    return this.backends.some((b) => b.ready);
  }

  /** The smallest context length a ready replica reports (0 when none reports one). */
  get reportedMaxModelLen(): number {
    const lens = this.backends.filter((b) => b.ready).map((b) => b.latestStats?.maxModelLen ?? 0).filter((n) => n > 0);
    return lens.length > 0 ? Math.min(...lens) : 0;
  }

  /** A ready replica for the request, skipping `exclude` (replicas that already failed it). */
  pick(request: RoutingRequest, exclude: ReadonlySet<CoordinatorBackend> = new Set()): CoordinatorBackend {
    const ready = this.backends.filter((b) => b.ready && !exclude.has(b));
    if (ready.length === 0) throw unavailable('no model replica is ready; retry shortly');
    const chosen = this.policy.choose(ready, request);
    chosen.lastPickedAt = performance.now();
    this.policy.routed?.(chosen, request);
    return chosen;
  }

  close(): void {
    for (const b of this.backends) b.close();
  }
}
