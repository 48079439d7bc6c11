// The router's memory of which prompt prefixes it sent to one replica, so prefix-aware routing needs
// no extra round trip: a tree over chained block hashes (coordinator/engine/block-hash.ts), one
// node per full KV block, capped in size with least-recently-used eviction. It is approximate on
// purpose: the replica may have evicted what the tree remembers, and the tree forgets what the
// replica still holds; Stats' cached hashes correct it between polls.

interface PrefixNode {
  readonly hash: number;
  readonly parent: PrefixNode | null;
  readonly children: Map<number, PrefixNode>;
}

export class PrefixTree {
  private readonly roots = new Map<number, PrefixNode>();
  /**
   * Every node, least recently used first. A path is touched leaf-to-root, so a node is always
   * more recent than its descendants and the first entry is always a leaf (safe to evict).
   */
  private readonly recency = new Set<PrefixNode>();

  constructor(readonly maxBlocks: number) {
    if (!Number.isSafeInteger(maxBlocks) || maxBlocks < 1) throw new Error(`PrefixTree: maxBlocks must be a positive integer, got ${maxBlocks}`);
  }

  get size(): number {
    return this.recency.size;
  }

  /** How many leading blocks of `hashes` the tree holds (read-only: recency is not touched). */
  matchLength(hashes: readonly number[]): number {
    let children = this.roots;
    let matched = 0;
    for (const hash of hashes) {
      const node = children.get(hash);
      if (node === undefined) break;
      matched++;
      children = node.children;
    }
    return matched;
  }

  /** Records that a prompt with these block hashes was sent here; evicts the oldest leaves over the cap. */
  insert(hashes: readonly number[]): void {
    let parent: PrefixNode | null = null;
    const path: PrefixNode[] = [];
    for (const hash of hashes) {
      const children: Map<number, PrefixNode> = parent === null ? this.roots : parent.children;
      let node = children.get(hash);
      if (node === undefined) {
        node = { hash, parent, children: new Map() };
        children.set(hash, node);
      }
      path.push(node);
      parent = node;
    }
    for (let i = path.length - 1; i >= 0; i--) {
      this.recency.delete(path[i]);
      this.recency.add(path[i]);
    }
    while (this.recency.size > this.maxBlocks) this.evictOldest();
  }

  private evictOldest(): void {
    const oldest = this.recency.values().next().value;
    if (oldest === undefined) return;
    if (oldest.children.size > 0) throw new Error('PrefixTree: the least recently used node is not a leaf');
    this.recency.delete(oldest);
    (oldest.parent === null ? this.roots : oldest.parent.children).delete(oldest.hash);
  }
}
