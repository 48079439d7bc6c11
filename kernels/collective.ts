// Typed binding of the native collectives (kernels/src/collective_*.cc): a Communicator joins
// one tensor-parallel group over shared memory (ranks on one host) or TCP (ranks on different
// hosts). Workers create it and hand it to the native forward pass, which all-reduces between
// layers in C++; the JS methods here serve tests, benchmarks and probes.
import { nativeAddon } from './addon.ts';

export interface CommunicatorOptions {
  kind: 'shm' | 'tcp';
  rank: number;
  worldSize: number;
  /** shm: the group's segment name (e.g. derived from a group id), shared by all ranks. */
  name?: string;
  /** tcp: "host:port" of rank 0 first (rank 0 listens there; the others connect to it). */
  addresses?: string[];
  /** Deadline of each collective call; default 5000. */
  timeoutMs?: number;
  /** Deadline for the whole group to join; default 30000. */
  connectTimeoutMs?: number;
  /** shm: bytes per rank per phase (larger calls are chunked); default 1 MiB. */
  slotBytes?: number;
}

/** `code` of the errors the methods throw when the group fails; the group is unusable after. */
export type CollectiveErrorCode = 'ERR_COLLECTIVE_TIMEOUT' | 'ERR_COLLECTIVE_PEER_LOST' | 'ERR_COLLECTIVE';

/**
 * One rank's membership of a group. The constructor blocks until every rank has joined (or
 * throws at connectTimeoutMs). Every method is synchronous and bounded by timeoutMs; on a dead
 * or hung peer it throws an Error whose `code` is a CollectiveErrorCode, and so do all later
 * calls. All ranks must make the same calls in the same order.
 */
export interface Communicator {
  readonly kind: 'shm' | 'tcp';
  readonly rank: number;
  readonly worldSize: number;
  /** In-place sum over ranks, reduced in rank order: every rank gets identical bits. */
  allReduceSum(data: Float32Array): void;
  /** Returns worldSize * data.length floats, rank r's contribution at r * data.length. */
  allGather(data: Float32Array): Float32Array;
  /** Copies root's bytes of `data` into every other rank's `data` (same length everywhere). */
  broadcast(data: ArrayBufferView, root: number): void;
  barrier(): void;
  /** Nanoseconds spent in collectives since the previous call. */
  takeWaitNs(): number;
  /** Leaves the group (peers still waiting on this rank fail fast); idempotent. */
  close(): void;
}

interface CommunicatorConstructor {
  /** Joins synchronously: blocks the event loop until every rank joined (or connectTimeoutMs). */
  new (options: CommunicatorOptions): Communicator;
  /**
   * Joins on a libuv worker thread, so a server stays responsive while its peers start.
   * Rejects with a TypeError for bad options, or an Error with a CollectiveErrorCode.
   */
  connect(options: CommunicatorOptions): Promise<Communicator>;
}

export const Communicator: CommunicatorConstructor = nativeAddon<{ Communicator: CommunicatorConstructor }>().Communicator;

/** True when `err` is a collective failure (timeout, lost peer, protocol or setup error). */
export function isCollectiveError(err: unknown): err is Error & { code: CollectiveErrorCode } {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_COLLECTIVE');
}
