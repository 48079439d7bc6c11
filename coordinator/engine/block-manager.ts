// The paged KV cache's bookkeeping (the coordinator owns allocation; workers only write where the
// block tables say). Blocks are reference counted so that requests with a common prefix, and the n
// choices of one request, share the blocks of that prefix. A full block whose KV is computed is
// registered under its chained content hash; when its last user ends it stays cached, unreferenced,
// and is evicted least-recently-freed first, only when no never-cached free block is left.
import type { Sequence } from './sequence.ts';

/** Cached blocks that hold the leading full blocks of a sequence's tokens. */
export interface PrefixHit {
  blockIds: readonly number[];
}

const NO_HIT: PrefixHit = { blockIds: [] };

interface KvBlock {
  refCount: number;
  /** Chained content hash when registered in the prefix cache, else null. */
  hash: number | null;
  /** The block's tokens while registered (a hit must match them, not only the hash). */
  tokens: readonly number[] | null;
  /** Clock value of the last allocation or hit, for reporting recent hashes first. */
  lastUsed: number;
}

export class BlockManager {
  private readonly blocks: KvBlock[];
  /** Free blocks holding nothing cached: allocated first. */
  private readonly freeUncached: number[];
  /** Unreferenced cached blocks in the order they were freed (Map keeps insertion order): evicted from the front. */
  private readonly evictable = new Map<number, true>();
  private readonly hashToBlock = new Map<number, number>();
  private clock = 0;

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.blocks = Array.from({ length: numBlocks }, () => ({ refCount: 0, hash: null, tokens: null, lastUsed: 0 }));
    // Reversed so that pop() hands out block 0 first (easier to read in tests and traces).
    this.freeUncached = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  /** Blocks that an allocation can take (never-cached free ones plus evictable cached ones). */
  get numFreeBlocks(): number {
    return this.freeUncached.length + this.evictable.size;
  }

  /** Fraction of blocks referenced by a live sequence (vllm:kv_cache_usage_perc). */
  get usage(): number {
    return (this.numBlocks - this.numFreeBlocks) / this.numBlocks;
  }

  /**
   * The cached blocks matching the start of `seq`'s tokens. Never all of its tokens: the last one
   * must be computed to sample from it, so at most (numTokens - 1) / blockSize blocks match.
   */
  matchPrefix(seq: Sequence): PrefixHit {
    if (!seq.usesPrefixCache) return NO_HIT;
    const maxBlocks = Math.floor((seq.numTokens - 1) / this.blockSize);
    const blockIds: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const blockId = this.hashToBlock.get(seq.blockHash(i));
      if (blockId === undefined || !this.holdsTokens(blockId, seq.tokenIds, i * this.blockSize)) break;
      blockIds.push(blockId);
    }
    return { blockIds };
  }

  /**
   * Gives `seq` blocks for `numNewTokens` more tokens after its computed ones, first taking the
   * `hit` blocks (only for a sequence holding no blocks). Returns false, changing nothing, when
   * too few blocks are free. The caller advances numComputedTokens past the hit.
   */
  allocateSlots(seq: Sequence, numNewTokens: number, hit: PrefixHit = NO_HIT): boolean {
    if (hit.blockIds.length > 0 && seq.blockTable.length > 0) {
      throw new Error(`sequence ${seq.seqId}: a prefix hit is only taken by a sequence holding no blocks`);
    }
    const hitTokens = hit.blockIds.length * this.blockSize;
    const totalTokens = Math.max(seq.numComputedTokens, hitTokens) + numNewTokens;
    const numNeeded = Math.ceil(totalTokens / this.blockSize) - seq.blockTable.length - hit.blockIds.length;
    // Hit blocks nobody references are counted as free now; taking them makes them unavailable.
    const hitFromFree = hit.blockIds.filter((id) => this.blocks[id].refCount === 0).length;
    if (numNeeded > this.numFreeBlocks - hitFromFree) return false;
    for (const blockId of hit.blockIds) {
      this.reference(blockId);
      seq.blockTable.push(blockId);
    }
    seq.numCacheCheckedBlocks = seq.blockTable.length;
    for (let i = 0; i < numNeeded; i++) {
      const blockId = this.takeFreeBlock();
      this.reference(blockId);
      seq.blockTable.push(blockId);
    }
    return true;
  }

  /** Registers the sequence's full, computed blocks in the prefix cache (after their step ran). */
  cacheComputedBlocks(seq: Sequence): void {
    const numFull = Math.floor(seq.numComputedTokens / this.blockSize);
    for (let i = seq.numCacheCheckedBlocks; i < numFull; i++) {
      const hash = seq.blockHash(i);
      const block = this.blocks[seq.blockTable[i]];
      // Another sequence computed the same content first: keep its block; this one stays private.
      if (!this.hashToBlock.has(hash) && block.hash === null) {
        this.hashToBlock.set(hash, seq.blockTable[i]);
        block.hash = hash;
        block.tokens = seq.tokenIds.slice(i * this.blockSize, (i + 1) * this.blockSize);
      }
    }
    seq.numCacheCheckedBlocks = Math.max(seq.numCacheCheckedBlocks, numFull);
  }

  /** Drops the sequence's references (tail first, so its tail blocks are evicted first). */
  free(seq: Sequence): void {
    for (let i = seq.blockTable.length - 1; i >= 0; i--) {
      const blockId = seq.blockTable[i];
      const block = this.blocks[blockId];
      if (block.refCount <= 0) throw new Error(`block ${blockId} freed more often than referenced`);
      block.refCount--;
      if (block.refCount === 0) {
        if (block.hash === null) this.freeUncached.push(blockId);
        else this.evictable.set(blockId, true);
      }
    }
    seq.blockTable.length = 0;
    seq.numCacheCheckedBlocks = 0;
  }

  /** Hashes of cached blocks, most recently used first, at most `limit` (for prefix-aware routing). */
  cachedBlockHashes(limit: number): number[] {
    const cached: KvBlock[] = [];
    for (const block of this.blocks) if (block.hash !== null) cached.push(block);
    cached.sort((a, b) => b.lastUsed - a.lastUsed);
    return cached.slice(0, limit).map((block) => block.hash as number);
  }

  /**
   * Throws when the bookkeeping is inconsistent. `liveBlockTables` are the tables of every
   * sequence holding blocks: reference counts must equal their occurrences, so with no live
   * sequence this is the leak check (every block free or cached-unreferenced).
   */
  checkInvariants(liveBlockTables: readonly (readonly number[])[]): void {
    const expected = new Array<number>(this.numBlocks).fill(0);
    for (const table of liveBlockTables) for (const blockId of table) expected[blockId]++;
    const inFreeList = new Set(this.freeUncached);
    if (inFreeList.size !== this.freeUncached.length) throw new Error('block manager: a block is twice in the free list');
    this.blocks.forEach((block, id) => {
      if (block.refCount !== expected[id]) {
        throw new Error(`block manager: block ${id} has ref count ${block.refCount}, live tables hold it ${expected[id]} times`);
      }
      const free = inFreeList.has(id);
      const evictable = this.evictable.has(id);
      if (block.refCount === 0 && free === evictable) {
        throw new Error(`block manager: unreferenced block ${id} must be in exactly one of free list / evictable`);
      }
      if (block.refCount > 0 && (free || evictable)) throw new Error(`block manager: referenced block ${id} is free`);
      if (free && block.hash !== null) throw new Error(`block manager: free block ${id} still holds a cached hash`);
      if (block.hash !== null && this.hashToBlock.get(block.hash) !== id) {
        throw new Error(`block manager: block ${id} has a hash that does not map back to it`);
      }
    });
    for (const [hash, id] of this.hashToBlock) {
      if (this.blocks[id].hash !== hash) throw new Error(`block manager: hash map entry for block ${id} is stale`);
    }
  }

  private holdsTokens(blockId: number, tokens: readonly number[], start: number): boolean {
    const cached = this.blocks[blockId].tokens;
    if (cached === null) return false;
    for (let i = 0; i < this.blockSize; i++) if (cached[i] !== tokens[start + i]) return false;
    return true;
  }

  private reference(blockId: number): void {
    const block = this.blocks[blockId];
    if (block.refCount === 0) this.evictable.delete(blockId);
    block.refCount++;
    block.lastUsed = ++this.clock;
  }

  /** A free block, evicting the least recently freed cached one when no uncached block is left. */
  private takeFreeBlock(): number {
    const uncached = this.freeUncached.pop();
    if (uncached !== undefined) return uncached;
    const { value: victim, done } = this.evictable.keys().next();
    if (done) throw new Error('block manager: no free block (allocateSlots checks this first)');
    this.evictable.delete(victim);
    const block = this.blocks[victim];
    if (block.hash !== null) this.hashToBlock.delete(block.hash);
    block.hash = null;
    block.tokens = null;
    return victim;
  }
}
