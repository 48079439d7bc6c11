// The router's replica choice (issue 8): a session sticks to the replica its last turn went to while
// that replica is ready; every other request goes to the best score
//   matched_prefix / prompt - beta * relative_load
// (production-stack's rule), where matched_prefix is how much of the prompt, in whole KV blocks,
// the replica is believed to cache (the router's own prefix tree of what it sent there, or the
// block hashes of its last Stats, whichever knows more) and relative_load is its load over the
// busiest ready replica's. beta trades cache hits against balance: with 0.5 a replica holding
// the whole prompt still wins while the others are at most half as busy.
import { prefixBlockHashes } from '../../coordinator/engine/block-hash.ts';
import type { StatsResponse__Output } from '../../proto/gen/m2/v1/StatsResponse.ts';
import type { CoordinatorBackend } from '../coordinator-backend.ts';
import type { ReplicaPolicy, RoutingRequest } from '../replica-set.ts';
import { PrefixTree } from './prefix-tree.ts';
import { DEFAULT_SESSION_TABLE_OPTIONS, RouterSessionTable, type SessionTableOptions } from './session-table.ts';

export const DEFAULT_ROUTING_BETA = 0.5;
/** Blocks remembered per replica (16-token blocks: about 1M prompt tokens). */
export const DEFAULT_TREE_MAX_BLOCKS = 65_536;
/** Block size assumed for a replica whose Stats have not arrived yet (DESIGN.md's default). */
const FALLBACK_BLOCK_SIZE = 16;

/** Why a replica was chosen (the `m2:routing_decisions_total` label). */
export type RoutingReason = 'session' | 'prefix' | 'load';

export interface PrefixAwarePolicyOptions {
  beta: number;
  treeMaxBlocks: number;
  sessions: SessionTableOptions;
  /** Told about every decision (metrics). */
  onDecision?: (backend: CoordinatorBackend, reason: RoutingReason) => void;
}

/** The score of one replica; higher wins. */
export function replicaScore(matchedTokens: number, promptTokens: number, load: number, maxLoad: number, beta: number): number {
  const matched = promptTokens > 0 ? matchedTokens / promptTokens : 0;
  const relativeLoad = maxLoad > 0 ? load / maxLoad : 0;
  return matched - beta * relativeLoad;
}

export function checkRoutingBeta(beta: number): number {
  if (!Number.isFinite(beta) || beta < 0) throw new Error(`routing beta must be a finite number >= 0, got ${beta}`);
  return beta;
}

interface Candidate {
  backend: CoordinatorBackend;
  matchedTokens: number;
  score: number;
}

export class PrefixAwarePolicy implements ReplicaPolicy {
  private readonly options: PrefixAwarePolicyOptions;
  private readonly trees = new Map<CoordinatorBackend, PrefixTree>();
  private readonly sessions: RouterSessionTable<CoordinatorBackend>;
  /** Stats answers' cached hashes as sets, built once per answer. */
  private readonly cachedHashSets = new WeakMap<StatsResponse__Output, Set<number>>();

  constructor(options: Partial<PrefixAwarePolicyOptions> = {}, now: () => number = Date.now) {
    this.options = {
      beta: checkRoutingBeta(options.beta ?? DEFAULT_ROUTING_BETA),
      treeMaxBlocks: options.treeMaxBlocks ?? DEFAULT_TREE_MAX_BLOCKS,
      sessions: options.sessions ?? DEFAULT_SESSION_TABLE_OPTIONS,
      onDecision: options.onDecision,
    };
    this.sessions = new RouterSessionTable(this.options.sessions, now);
  }

  get beta(): number {
    return this.options.beta;
  }

  choose(ready: readonly CoordinatorBackend[], request: RoutingRequest): CoordinatorBackend {
    const bound = request.sessionId === '' ? undefined : this.sessions.lookup(request.sessionId);
    if (bound !== undefined && ready.includes(bound)) return this.decided(bound, 'session');
    const best = this.rank(ready, request.promptTokenIds)[0];
    return this.decided(best.backend, best.matchedTokens > 0 ? 'prefix' : 'load');
  }

  routed(backend: CoordinatorBackend, request: RoutingRequest): void {
    if (request.sessionId !== '') this.sessions.bind(request.sessionId, backend);
    this.treeOf(backend).insert(prefixBlockHashes(request.promptTokenIds, blockSizeOf(backend)));
  }

  /** Ready replicas best first: score, then lower load, then picked longest ago. */
  rank(ready: readonly CoordinatorBackend[], promptTokenIds: readonly number[]): Candidate[] {
    const maxLoad = Math.max(0, ...ready.map((b) => b.load));
    const hashesBySize = new Map<number, number[]>();
    const candidates = ready.map((backend): Candidate => {
      const blockSize = blockSizeOf(backend);
      let hashes = hashesBySize.get(blockSize);
      if (hashes === undefined) hashesBySize.set(blockSize, (hashes = prefixBlockHashes(promptTokenIds, blockSize)));
      const matchedBlocks = Math.max(this.treeOf(backend).matchLength(hashes), this.statsMatchLength(backend, hashes));
      const matchedTokens = matchedBlocks * blockSize;
      return { backend, matchedTokens, score: replicaScore(matchedTokens, promptTokenIds.length, backend.load, maxLoad, this.options.beta) };
    });
    return candidates.sort((x, y) => y.score - x.score || x.backend.load - y.backend.load || x.backend.lastPickedAt - y.backend.lastPickedAt);
  }

  private decided(backend: CoordinatorBackend, reason: RoutingReason): CoordinatorBackend {
    this.options.onDecision?.(backend, reason);
    return backend;
  }

  private treeOf(backend: CoordinatorBackend): PrefixTree {
    let tree = this.trees.get(backend);
    if (tree === undefined) this.trees.set(backend, (tree = new PrefixTree(this.options.treeMaxBlocks)));
    return tree;
  }

  /** Leading blocks of the prompt among the hashes the replica last reported as cached. */
  private statsMatchLength(backend: CoordinatorBackend, hashes: readonly number[]): number {
    const stats = backend.latestStats;
    if (stats === undefined || stats.cachedBlockHashes.length === 0) return 0;
    let cached = this.cachedHashSets.get(stats);
    if (cached === undefined) this.cachedHashSets.set(stats, (cached = new Set(stats.cachedBlockHashes)));
    let matched = 0;
    while (matched < hashes.length && cached.has(hashes[matched])) matched++;
    return matched;
  }
}

function blockSizeOf(backend: CoordinatorBackend): number {
  return backend.latestStats?.blockSize || FALLBACK_BLOCK_SIZE;
}
