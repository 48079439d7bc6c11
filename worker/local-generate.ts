// The minimal in-process generate loop (TP = 1): continuous batching of a fixed set of requests
// over one NativeModel with a tiny KV block allocator. Tests use it to drive the forward pass the
// way the coordinator will (prefill, chunked prefill, decode in one flat step); the coordinator's
// scheduler replaces it.
import type { SamplingOptions } from '../kernels/sampling.ts';
import { runStep, type NativeModel, type StepSequence } from '../kernels/model.ts';
import type { KvBlockAllocator } from './shard/kv-block-allocator.ts';

export interface GenerateRequest {
  prompt: number[];
  maxTokens: number;
  /** Default greedy. */
  sampling?: SamplingOptions;
  stopIds?: number[];
}

export interface GenerateResult {
  tokens: number[];
  /** Logprob of each generated token (raw logits). */
  logprobs: number[];
  /** Raw logits after the last prompt token, when asked for. */
  promptLogits?: Float32Array;
}

export interface GenerateOptions {
  /** Most prompt tokens of one sequence per step (chunked prefill); default: all at once. */
  prefillChunk?: number;
  /** Most rows per step (the model's maxTokens). */
  maxStepTokens: number;
  returnPromptLogits?: boolean;
}

interface LiveSequence {
  id: number;
  request: GenerateRequest;
  tokens: number[];
  cached: number;
  blocks: number[];
  result: GenerateResult;
  done: boolean;
}

let nextSequenceId = 1;

export class LocalGenerator {
  constructor(private readonly model: NativeModel, private readonly blocks: KvBlockAllocator) {}

  async generate(requests: GenerateRequest[], options: GenerateOptions): Promise<GenerateResult[]> {
    const live: LiveSequence[] = requests.map((request) => {
      if (request.prompt.length === 0) throw new RangeError('generate: a prompt needs at least one token');
      return { id: nextSequenceId++, request, tokens: [...request.prompt], cached: 0, blocks: [], result: { tokens: [], logprobs: [] }, done: request.maxTokens <= 0 };
    });
    try {
      while (live.some((s) => !s.done)) await this.step(live, options);
    } finally {
      for (const s of live) this.finish(s);
    }
    return live.map((s) => s.result);
  }

  private async step(live: LiveSequence[], options: GenerateOptions): Promise<void> {
    const tokens: number[] = [], positions: number[] = [], slots: number[] = [];
    const sequences: StepSequence[] = [];
    const scheduled: LiveSequence[] = [];
    let wantLogits = false;
    for (const s of live) {
      const budget = options.maxStepTokens - tokens.length;
      if (s.done || budget <= 0) continue;
      const chunk = Math.min(s.tokens.length - s.cached, options.prefillChunk ?? Infinity, budget);
      const end = s.cached + chunk;
      this.blocks.ensure(s.blocks, end);
      for (let p = s.cached; p < end; ++p) {
        tokens.push(s.tokens[p]);
        positions.push(p);
        slots.push(this.blocks.slotOf(s.blocks, p));
      }
      const returns = end === s.tokens.length;
      wantLogits ||= returns && options.returnPromptLogits === true && s.result.tokens.length === 0;
      sequences.push({
        id: s.id,
        numTokens: chunk,
        blockTable: Int32Array.from(s.blocks),
        outputRows: returns ? Int32Array.of(chunk - 1) : new Int32Array(0),
        promptLen: s.request.prompt.length,
        sampling: { logprobs: 0, ...s.request.sampling },
      });
      scheduled.push(s);
      s.cached = end;
    }
    const result = await runStep(this.model, {
      tokens: Int32Array.from(tokens),
      positions: Int32Array.from(positions),
      slotMapping: Int32Array.from(slots),
      sequences,
      returnLogits: wantLogits,
    });
    let row = 0;
    scheduled.forEach((s, i) => {
      if (sequences[i].outputRows.length === 0) return;
      if (result.logits && s.result.tokens.length === 0) {
        const vocab = result.logits.length / result.ids.length;
        s.result.promptLogits = result.logits.slice(row * vocab, (row + 1) * vocab);
      }
      const id = result.ids[row];
      s.result.tokens.push(id);
      s.result.logprobs.push(result.logprobs[row]);
      s.tokens.push(id);
      row += 1;
      if (s.result.tokens.length >= s.request.maxTokens || s.request.stopIds?.includes(id)) this.finish(s);
    });
  }

  private finish(s: LiveSequence): void {
    if (s.blocks.length > 0) this.blocks.release(s.blocks);
    if (!s.done) this.model.releaseSequence(s.id);
    s.done = true;
  }
}
