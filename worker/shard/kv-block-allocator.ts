// The tiny KV block allocator of the in-process generate loop (the coordinator's block manager
// replaces it): a free list of block ids and, per sequence, its block table and slot of a position.
export class KvCacheFullError extends Error {
  override readonly name = 'KvCacheFullError';
  readonly code = 'ERR_KV_CACHE_FULL';
}

export class KvBlockAllocator {
  private readonly free: number[];

  constructor(numBlocks: number, readonly blockSize: number) {
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be >= 1, got ${numBlocks}`);
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be >= 1, got ${blockSize}`);
    // Hand out high ids first so tests exercise non-identity block tables.
    this.free = Array.from({ length: numBlocks }, (_, i) => i);
  }

  get freeBlocks(): number {
    return this.free.length;
  }

  /** Grows `table` until it covers `length` positions; throws KvCacheFullError when out of blocks. */
  ensure(table: number[], length: number): void {
    const needed = Math.ceil(length / this.blockSize);
    if (needed - table.length > this.free.length) {
      throw new KvCacheFullError(`KV cache full: need ${needed - table.length} more blocks, ${this.free.length} free`);
    }
    while (table.length < needed) table.push(this.free.pop() as number);
  }

  release(table: number[]): void {
    this.free.push(...table.splice(0));
  }

  slotOf(table: readonly number[], position: number): number {
    return table[Math.floor(position / this.blockSize)] * this.blockSize + (position % this.blockSize);
  }
}
