import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainBlockHash, prefixBlockHashes } from '../../coordinator/engine/block-hash.ts';
import { BlockManager } from '../../coordinator/engine/block-manager.ts';
import { Sequence } from '../../coordinator/engine/sequence.ts';

const BS = 4;
let nextId = 1;

function seq(tokens: number[]): Sequence {
  return new Sequence(nextId++, 0, tokens, BS);
}

/** Allocates for all of seq's tokens and marks them computed, as a finished prefill would. */
function prefill(manager: BlockManager, s: Sequence): void {
  const hit = manager.matchPrefix(s);
  const hitTokens = hit.blockIds.length * BS;
  assert.ok(manager.allocateSlots(s, s.numTokens - hitTokens, hit));
  s.numComputedTokens = s.numTokens;
  manager.cacheComputedBlocks(s);
}

const range = (start: number, length: number): number[] => Array.from({ length }, (_, i) => start + i);

test('block hashes chain over the prefix and fit in 53 bits', () => {
  const a = chainBlockHash(null, [1, 2, 3, 4]);
  assert.equal(chainBlockHash(null, [1, 2, 3, 4]), a);
  assert.notEqual(chainBlockHash(null, [1, 2, 3, 5]), a);
  // The same block content after different prefixes hashes differently.
  assert.notEqual(chainBlockHash(a, [5, 6, 7, 8]), chainBlockHash(chainBlockHash(null, [9, 9, 9, 9]), [5, 6, 7, 8]));
  const tokens = range(0, 11);
  const hashes = prefixBlockHashes(tokens, BS);
  assert.equal(hashes.length, 2);
  const s = seq(tokens);
  assert.deepEqual([s.blockHash(0), s.blockHash(1)], hashes);
  assert.throws(() => s.blockHash(2), /not full/);
  for (let i = 0; i < 1000; i++) assert.ok(Number.isSafeInteger(chainBlockHash(i, [i, i + 1])));
});

test('allocation takes ceil(tokens / block size) blocks and free returns them all', () => {
  const manager = new BlockManager(8, BS);
  const s = seq(range(1, 10));
  assert.ok(manager.allocateSlots(s, 10));
  assert.equal(s.blockTable.length, 3);
  assert.equal(manager.numFreeBlocks, 5);
  manager.checkInvariants([s.blockTable]);
  // Growing within the last block takes nothing; crossing into a new one takes one.
  s.numComputedTokens = 10;
  assert.ok(manager.allocateSlots(s, 2));
  assert.equal(s.blockTable.length, 3);
  assert.ok(manager.allocateSlots(s, 3));
  assert.equal(s.blockTable.length, 4);
  manager.free(s);
  assert.equal(manager.numFreeBlocks, 8);
  assert.equal(manager.usage, 0);
  manager.checkInvariants([]);
});

test('an allocation that does not fit changes nothing', () => {
  const manager = new BlockManager(3, BS);
  const a = seq(range(1, 8));
  assert.ok(manager.allocateSlots(a, 8));
  const b = seq(range(1, 8));
  assert.equal(manager.allocateSlots(b, 8), false);
  assert.equal(b.blockTable.length, 0);
  assert.equal(manager.numFreeBlocks, 1);
  manager.checkInvariants([a.blockTable]);
});

test('the leak check notices a block nobody holds', () => {
  const manager = new BlockManager(4, BS);
  const s = seq(range(1, 5));
  assert.ok(manager.allocateSlots(s, 5));
  assert.throws(() => manager.checkInvariants([]), /ref count/);
  manager.free(s);
  manager.checkInvariants([]);
});

test('a common prefix is shared: hits, reference counts, and the last token is always computed', () => {
  const manager = new BlockManager(16, BS);
  const a = seq(range(1, 10)); // blocks [1..4] [5..8] [9,10]
  prefill(manager, a);
  const b = seq([...range(1, 8), 40, 41, 42]);
  const hit = manager.matchPrefix(b);
  assert.deepEqual(hit.blockIds, a.blockTable.slice(0, 2));
  assert.ok(manager.allocateSlots(b, 3, hit));
  assert.deepEqual(b.blockTable.slice(0, 2), a.blockTable.slice(0, 2));
  manager.checkInvariants([a.blockTable, b.blockTable]);
  // A prompt that is exactly the cached blocks still computes its last block's last token.
  const c = seq(range(1, 8));
  assert.equal(manager.matchPrefix(c).blockIds.length, 1);
  // A different first block shares nothing, even with identical later blocks.
  assert.equal(manager.matchPrefix(seq([99, 2, 3, 4, ...range(5, 6)])).blockIds.length, 0);
  manager.free(a);
  manager.checkInvariants([b.blockTable]);
  manager.free(b);
  manager.checkInvariants([]);
  // Unreferenced cached blocks still hit, and count as free.
  assert.equal(manager.numFreeBlocks, 16);
  assert.equal(manager.matchPrefix(seq(range(1, 9))).blockIds.length, 2);
});

test('cached blocks are evicted least recently freed first, tail blocks before head blocks', () => {
  const manager = new BlockManager(4, BS);
  const a = seq(range(1, 9)); // two full blocks cached (+1 partial)
  prefill(manager, a);
  manager.free(a);
  const b = seq(range(20, 5)); // one full block cached (+1 partial)
  prefill(manager, b);
  manager.free(b);
  assert.equal(manager.cachedBlockHashes(10).length, 3);
  assert.equal(manager.cachedBlockHashes(10)[0], b.blockHash(0), 'most recently used first');
  assert.equal(manager.cachedBlockHashes(1).length, 1);
  // One uncached block is left (b's partial one; b reused a's): a second block must evict a's tail.
  const c = seq(range(40, 8));
  assert.ok(manager.allocateSlots(c, 8));
  manager.checkInvariants([c.blockTable]);
  assert.equal(manager.matchPrefix(seq(range(1, 9))).blockIds.length, 1, "a's second block was evicted");
  assert.equal(manager.matchPrefix(seq(range(20, 5))).blockIds.length, 1, "b's block survived");
  manager.free(c);
  manager.checkInvariants([]);
});

test('the same content computed twice is cached once; the duplicate block is freed uncached', () => {
  const manager = new BlockManager(8, BS);
  const a = seq(range(1, 6));
  const b = seq(range(1, 6));
  assert.ok(manager.allocateSlots(a, 6));
  assert.ok(manager.allocateSlots(b, 6));
  a.numComputedTokens = 6;
  b.numComputedTokens = 6;
  manager.cacheComputedBlocks(a);
  manager.cacheComputedBlocks(b);
  manager.checkInvariants([a.blockTable, b.blockTable]);
  assert.equal(manager.cachedBlockHashes(10).length, 1);
  const cachedBlock = a.blockTable[0];
  manager.free(b);
  manager.free(a);
  manager.checkInvariants([]);
  assert.deepEqual(manager.matchPrefix(seq(range(1, 6))).blockIds, [cachedBlock]);
});
