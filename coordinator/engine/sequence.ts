// One choice of one request as the scheduler and block manager see it: its tokens (prompt then
// output), how many of them have KV computed, and the KV blocks holding them. Preemption by
// recompute only resets the computed count and the blocks; the tokens stay, so the recomputed
// sequence continues exactly where it stopped.
import { chainBlockHash } from './block-hash.ts';

export type SequenceStatus = 'waiting' | 'running' | 'finished';

export class Sequence {
  readonly tokenIds: number[];
  readonly promptLen: number;
  status: SequenceStatus = 'waiting';
  /** Tokens [0, numComputedTokens) have KV in blockTable. */
  numComputedTokens = 0;
  readonly blockTable: number[] = [];
  /** Leading blocks of blockTable already offered to the prefix cache (hit or registered). */
  numCacheCheckedBlocks = 0;
  /** Prompt tokens served from the prefix cache when first admitted (-1 before that). */
  numCachedPromptTokens = -1;
  numPreemptions = 0;
  /** Chained content hashes of the full blocks of tokenIds (final once a block is full). */
  private readonly fullBlockHashes: number[] = [];

  constructor(
    readonly seqId: number,
    readonly choiceIndex: number,
    promptTokenIds: readonly number[],
    readonly blockSize: number,
    /**
     * Choice 0 of the same request, for choices 1..n-1: they wait while it prefills the shared
     * prompt so they find its blocks in the prefix cache instead of computing them again.
     */
    readonly leader: Sequence | null = null,
    /**
     * False for sequences with penalties: rank 0 applies them from the history it saw, so such a
     * sequence must send its whole prompt once rather than start after cached blocks.
     */
    readonly usesPrefixCache: boolean = true,
  ) {
    this.tokenIds = [...promptTokenIds];
    this.promptLen = promptTokenIds.length;
  }

  /** Admitted at least once, so the workers may hold state for it. */
  get wasAdmitted(): boolean {
    return this.numCachedPromptTokens >= 0;
  }

  get numTokens(): number {
    return this.tokenIds.length;
  }

  get numOutputTokens(): number {
    return this.tokenIds.length - this.promptLen;
  }

  /** Tokens known but without KV yet (1 when decoding, more while prefilling). */
  get numUncomputedTokens(): number {
    return this.tokenIds.length - this.numComputedTokens;
  }

  /** True while the leader is computing a prompt with at least one full block this choice will share. */
  get isWaitingForLeader(): boolean {
    const leader = this.leader;
    return (
      leader !== null &&
      leader.promptLen > this.blockSize &&
      leader.status === 'running' &&
      leader.numComputedTokens < leader.promptLen
    );
  }

  /** Chained hash of full block `index` (index < numTokens / blockSize). */
  blockHash(index: number): number {
    if ((index + 1) * this.blockSize > this.tokenIds.length) {
      throw new Error(`sequence ${this.seqId}: block ${index} is not full yet and has no hash`);
    }
    for (let i = this.fullBlockHashes.length; i <= index; i++) {
      const parent = i === 0 ? null : this.fullBlockHashes[i - 1];
      this.fullBlockHashes.push(chainBlockHash(parent, this.tokenIds, i * this.blockSize, (i + 1) * this.blockSize));
    }
    return this.fullBlockHashes[index];
  }

  appendToken(tokenId: number): void {
    this.tokenIds.push(tokenId);
  }
}
