// Continuous batching: decides, before every step, which sequences run and how many of their
// tokens, under a token budget. Running decodes go first, then running prefills continue in chunks,
// then waiting sequences are admitted first come first served (a long prompt at the head is
// chunked, never starved by shorter ones behind it). When KV blocks run out the newest running
// sequence is preempted by recompute (vLLM's order): it frees its blocks and goes back to the
// front of the queue, keeping its tokens, so it later resumes exactly where it stopped.
import type { BlockManager } from './block-manager.ts';
import type { Sequence } from './sequence.ts';

/** `numTokens` of `seq`'s tokens from its first uncomputed one run in this step. */
export interface ScheduledChunk {
  seq: Sequence;
  numTokens: number;
}

export interface SchedulerLimits {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
}

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  /** In admission order: the last one is the newest, preempted first. */
  private readonly running: Sequence[] = [];
  numPreemptions = 0;
  /** Prompt tokens looked up in, and found in, the prefix cache at admission (vllm:prefix_cache_*). */
  prefixQueryTokens = 0;
  prefixHitTokens = 0;

  constructor(
    private readonly blocks: BlockManager,
    private readonly limits: SchedulerLimits,
  ) {}

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  get hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    if (seq.status !== 'waiting' || seq.blockTable.length > 0) throw new Error(`sequence ${seq.seqId} is not new`);
    this.waiting.push(seq);
  }

  /** Takes the sequence out of scheduling for good (finished, aborted, failed) and frees its blocks. */
  finish(seq: Sequence): void {
    const list = seq.status === 'running' ? this.running : this.waiting;
    const index = list.indexOf(seq);
    if (index >= 0) list.splice(index, 1);
    this.blocks.free(seq);
    seq.status = 'finished';
  }

  /** The work of the next step, in step order (decodes, prefill chunks, newly admitted). */
  schedule(): ScheduledChunk[] {
    let budget = this.limits.maxNumBatchedTokens;
    const scheduled = new Map<Sequence, number>();
    let preempted = false;
    const decodes = this.running.filter((seq) => seq.numUncomputedTokens === 1);
    const prefills = this.running.filter((seq) => seq.numUncomputedTokens > 1);
    for (const seq of [...decodes, ...prefills]) {
      if (budget === 0) break;
      if (seq.status !== 'running') continue;
      const numTokens = Math.min(seq.numUncomputedTokens, budget);
      while (!this.blocks.allocateSlots(seq, numTokens)) {
        const victim = this.running[this.running.length - 1];
        budget += scheduled.get(victim) ?? 0;
        scheduled.delete(victim);
        this.preempt(victim);
        preempted = true;
        if (victim === seq) break;
      }
      if (seq.status === 'running') {
        scheduled.set(seq, numTokens);
        budget -= numTokens;
      }
    }
    // Admitting while preempting would only preempt again next step.
    if (!preempted) this.admitWaiting(budget, scheduled);
    return [...scheduled].map(([seq, numTokens]) => ({ seq, numTokens }));
  }

  /** Marks the chunks' tokens computed and caches their full blocks; call after their step ran. */
  completeStep(chunks: readonly ScheduledChunk[]): void {
    for (const { seq, numTokens } of chunks) {
      if (seq.status !== 'running') continue; // ended while its step was in flight
      seq.numComputedTokens += numTokens;
      this.blocks.cacheComputedBlocks(seq);
    }
  }

  /** Throws when a sequence's state or the block pool's bookkeeping is inconsistent. */
  checkInvariants(): void {
    for (const seq of this.waiting) {
      if (seq.status !== 'waiting' || seq.blockTable.length > 0 || seq.numComputedTokens !== 0) {
        throw new Error(`scheduler: waiting sequence ${seq.seqId} holds KV state`);
      }
    }
    for (const seq of this.running) {
      if (seq.status !== 'running' || seq.blockTable.length * this.blocks.blockSize < seq.numComputedTokens) {
        throw new Error(`scheduler: running sequence ${seq.seqId} has computed tokens outside its blocks`);
      }
    }
    this.blocks.checkInvariants(this.running.map((seq) => seq.blockTable));
  }

  private admitWaiting(tokenBudget: number, scheduled: Map<Sequence, number>): void {
    let budget = tokenBudget;
    let index = 0;
    while (index < this.waiting.length && budget > 0 && this.running.length < this.limits.maxNumSeqs) {
      const seq = this.waiting[index];
      if (seq.isWaitingForLeader) {
        index++;
        continue;
      }
      const hit = this.blocks.matchPrefix(seq);
      const hitTokens = hit.blockIds.length * this.blocks.blockSize;
      const numTokens = Math.min(seq.numTokens - hitTokens, budget);
      if (!this.blocks.allocateSlots(seq, numTokens, hit)) break;
      seq.numComputedTokens = hitTokens;
      if (seq.numCachedPromptTokens < 0) seq.numCachedPromptTokens = Math.min(hitTokens, seq.promptLen);
      this.prefixQueryTokens += seq.numTokens;
      this.prefixHitTokens += hitTokens;
      this.waiting.splice(index, 1);
      this.running.push(seq);
      seq.status = 'running';
      scheduled.set(seq, numTokens);
      budget -= numTokens;
    }
  }

  private preempt(seq: Sequence): void {
    this.running.splice(this.running.lastIndexOf(seq), 1);
    this.blocks.free(seq);
    seq.numComputedTokens = 0;
    seq.status = 'waiting';
    seq.numPreemptions++;
    this.numPreemptions++;
    this.waiting.unshift(seq);
  }
}
