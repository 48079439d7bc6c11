// Unit tests of the router's routing pieces: the prefix tree over block hashes (matching, cap, LRU
// eviction that keeps shared prefixes), the session table (affinity, TTL, cap), the score formula
// and the policy that combines them (session first while ready, prefix vs load with beta, the
// replica's reported cached hashes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prefixBlockHashes } from '../../coordinator/engine/block-hash.ts';
import type { StatsResponse__Output } from '../../proto/gen/m2/v1/StatsResponse.ts';
import type { CoordinatorBackend } from '../../router/coordinator-backend.ts';
import { checkRoutingBeta, PrefixAwarePolicy, replicaScore, type RoutingReason } from '../../router/routing/prefix-aware-policy.ts';
import { PrefixTree } from '../../router/routing/prefix-tree.ts';
import { RouterSessionTable } from '../../router/routing/session-table.ts';

const BLOCK = 16;
/** Deterministic token ids: `count` tokens starting at `seed`. */
const tokens = (seed: number, count: number) => Array.from({ length: count }, (_, i) => (seed * 7919 + i * 31) % 50_000);

test('the prefix tree matches the longest stored prefix of block hashes', () => {
  const tree = new PrefixTree(100);
  const a = prefixBlockHashes(tokens(1, 64), BLOCK); // 4 blocks
  tree.insert(a);
  assert.equal(tree.size, 4);
  assert.equal(tree.matchLength(a), 4);
  assert.equal(tree.matchLength(a.slice(0, 2)), 2);
  // Same first 32 tokens, different tail: 2 shared blocks.
  const b = prefixBlockHashes([...tokens(1, 32), ...tokens(2, 32)], BLOCK);
  assert.equal(tree.matchLength(b), 2);
  tree.insert(b);
  assert.equal(tree.size, 6, 'shared blocks are stored once');
  assert.equal(tree.matchLength(prefixBlockHashes(tokens(3, 64), BLOCK)), 0);
  assert.equal(tree.matchLength([]), 0);
});

test('the prefix tree evicts least recently used leaves first and keeps shared prefixes', () => {
  const tree = new PrefixTree(6);
  const shared = tokens(10, 32);
  const a = prefixBlockHashes([...shared, ...tokens(11, 32)], BLOCK);
  const b = prefixBlockHashes([...shared, ...tokens(12, 32)], BLOCK);
  tree.insert(a);
  tree.insert(b); // 6 nodes: 2 shared + 2 + 2
  assert.equal(tree.size, 6);
  tree.insert(a); // a is now more recent than b
  const c = prefixBlockHashes([...shared, ...tokens(13, 32)], BLOCK);
  tree.insert(c); // 2 new nodes: b's two tail blocks go
  assert.equal(tree.size, 6);
  assert.equal(tree.matchLength(a), 4);
  assert.equal(tree.matchLength(c), 4);
  assert.equal(tree.matchLength(b), 2, 'b keeps only the shared prefix');
  // A path longer than the cap keeps its first blocks.
  const small = new PrefixTree(3);
  const long = prefixBlockHashes(tokens(20, 160), BLOCK);
  small.insert(long);
  assert.equal(small.size, 3);
  assert.equal(small.matchLength(long), 3);
  assert.throws(() => new PrefixTree(0), /maxBlocks/);
});

test('the session table remembers a replica per session, forgets idle sessions and the oldest over the cap', () => {
  let now = 1000;
  const table = new RouterSessionTable<string>({ maxSessions: 2, idleTtlMs: 500 }, () => now);
  table.bind('s1', 'A');
  table.bind('s2', 'B');
  assert.equal(table.lookup('s1'), 'A');
  table.bind('s1', 'C'); // re-bind and touch s1
  table.bind('s3', 'A'); // over the cap: s2 (least recently used) goes
  assert.equal(table.lookup('s2'), undefined);
  assert.equal(table.lookup('s1'), 'C');
  assert.equal(table.size, 2);
  now += 501;
  assert.equal(table.lookup('s3'), undefined, 'expired');
  assert.equal(table.lookup('nope'), undefined);
  assert.throws(() => new RouterSessionTable({ maxSessions: 0, idleTtlMs: 1 }), /maxSessions/);
});

test('score = matched/prompt - beta * load/max load', () => {
  assert.equal(replicaScore(64, 64, 0, 0, 0.5), 1);
  assert.equal(replicaScore(32, 64, 4, 8, 0.5), 0.25);
  assert.equal(replicaScore(0, 64, 8, 8, 0.5), -0.5);
  assert.equal(replicaScore(0, 0, 0, 0, 0.5), 0);
  assert.throws(() => checkRoutingBeta(-1), /beta/);
  assert.throws(() => checkRoutingBeta(Number.NaN), /beta/);
  assert.equal(checkRoutingBeta(0), 0);
});

interface FakeBackend {
  address: string;
  load: number;
  lastPickedAt: number;
  latestStats: StatsResponse__Output | undefined;
}

function fakeBackends(...addresses: string[]): { fakes: FakeBackend[]; backends: CoordinatorBackend[] } {
  const fakes = addresses.map((address): FakeBackend => ({ address, load: 0, lastPickedAt: 0, latestStats: undefined }));
  return { fakes, backends: fakes as unknown as CoordinatorBackend[] };
}

function harness(beta = 0.5) {
  const decisions: Array<[string, RoutingReason]> = [];
  const policy = new PrefixAwarePolicy({ beta, onDecision: (b, reason) => decisions.push([b.address, reason]) });
  const route = (ready: readonly CoordinatorBackend[], promptTokenIds: number[], sessionId = '') => {
    const request = { requestId: 'r', sessionId, promptTokenIds };
    const chosen = policy.choose(ready, request);
    policy.routed(chosen, request);
    return chosen.address;
  };
  return { policy, decisions, route };
}

test('a prompt goes where its prefix was sent unless that replica is much busier (beta)', () => {
  const { fakes, backends } = fakeBackends('A', 'B');
  const { route, decisions } = harness(0.5);
  const system = tokens(30, 96); // 6 blocks
  fakes[1].load = 1; // A is idle: the first request goes there by load
  assert.equal(route(backends, [...system, ...tokens(31, 10)]), 'A');
  assert.deepEqual(decisions.at(-1), ['A', 'load']);
  // Same 96-token prefix, A now busier than B: matched 96/106 - 0.5 beats 0 - 0.
  fakes[0].load = 2;
  fakes[1].load = 0;
  assert.equal(route(backends, [...system, ...tokens(32, 10)]), 'A');
  assert.deepEqual(decisions.at(-1), ['A', 'prefix']);
  // With beta 2 the load dominates: 96/106 - 2 * 1 loses to 0 - 0.
  const heavy = harness(2);
  fakes[0].load = 0;
  fakes[1].load = 1;
  assert.equal(heavy.route(backends, [...system, ...tokens(31, 10)]), 'A');
  fakes[0].load = 2;
  fakes[1].load = 0;
  assert.equal(heavy.route(backends, [...system, ...tokens(33, 10)]), 'B');
  // A prompt shorter than a block has no prefix to match: least load wins.
  assert.equal(route(backends, tokens(40, 5)), 'B');
});

test('the replica\'s reported cached hashes count as matched prefix', () => {
  const { fakes, backends } = fakeBackends('A', 'B');
  const { route } = harness();
  const prompt = tokens(50, 80);
  const hashes = prefixBlockHashes(prompt, BLOCK);
  fakes[1].latestStats = { blockSize: BLOCK, cachedBlockHashes: hashes.slice(0, 3).reverse() } as StatsResponse__Output;
  fakes[1].lastPickedAt = 10; // would lose the tie-break without the match
  assert.equal(route(backends, prompt), 'B');
  // A hole in the reported hashes ends the match (chained hashes: a later block alone means nothing).
  fakes[1].latestStats = { blockSize: BLOCK, cachedBlockHashes: hashes.slice(1) } as StatsResponse__Output;
  const other = harness();
  assert.equal(other.route(backends, prompt), 'A');
});

test('a session sticks to its replica while it is ready, then moves and sticks to the new one', () => {
  const { fakes, backends } = fakeBackends('A', 'B');
  const { route, decisions } = harness();
  const turn = (n: number) => tokens(60, 20 + n * 40);
  assert.equal(route(backends, turn(1), 'chat-1'), 'A');
  fakes[0].load = 50; // far busier: the session still sticks
  assert.equal(route(backends, turn(2), 'chat-1'), 'A');
  assert.deepEqual(decisions.at(-1), ['A', 'session']);
  // A not ready (absent from the ready list): scoring picks B, and the session follows it.
  assert.equal(route([backends[1]], turn(3), 'chat-1'), 'B');
  fakes[0].load = 0;
  fakes[1].load = 50;
  assert.equal(route(backends, turn(4), 'chat-1'), 'B');
  assert.deepEqual(decisions.at(-1), ['B', 'session']);
  // Another session with no history goes by score.
  assert.equal(route(backends, tokens(70, 10), 'chat-2'), 'A');
});
