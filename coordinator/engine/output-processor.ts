// Turns one choice's sampled tokens into streamed deltas and decides when it ends, so that
// finish_reason is exact: stop token ids and EOS (unless ignore_eos) end it with the token kept in
// the ids but not in the text; a stop string ends the text just before it, and text that could be
// the start of a stop string is held back until it is known not to be; max_tokens ends it with
// "length"; min_tokens bans EOS and stop ids (through the sampler) and defers stop strings.
import type { SampledToken__Output } from '../../proto/gen/m2/v1/SampledToken.ts';

/** Incremental detokenizer (coordinator/text's IncrementalDetokenizer satisfies it). */
export interface Detokenizer {
  /** Adds one id; returns the text it completes (never half a UTF-8 character). */
  push(id: number): string;
  /** Ends the sequence; returns whatever was held back. */
  flush(): string;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface StopConditions {
  /** Stop strings; output ends before the first occurrence. */
  stop: readonly string[];
  stopTokenIds: readonly number[];
  eosTokenIds: readonly number[];
  ignoreEos: boolean;
  minTokens: number;
  maxTokens: number;
  /** Return each token's logprob entry in the deltas. */
  includeLogprobs: boolean;
}

/** What one appended token (or an abort) adds to the choice's stream. */
export interface ChoiceUpdate {
  tokenIds: number[];
  text: string;
  logprobs: SampledToken__Output[];
  /** '' while the choice goes on. */
  finishReason: FinishReason | '';
  /** The stop string, or the stop token id as a decimal string, that ended the choice. */
  stopReason: string;
}

/** Index of the earliest stop string in `text` and which one, or null. */
function findStop(text: string, stops: readonly string[]): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const stop of stops) {
    const index = text.indexOf(stop);
    if (index >= 0 && (best === null || index < best.index)) best = { index, stop };
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function stopPrefixSuffixLength(text: string, stops: readonly string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
      if (text.endsWith(stop.slice(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

export class ChoiceOutputProcessor {
  private numOutput = 0;
  /** Text produced but not streamed yet because it could begin a stop string. */
  private heldText = '';
  private finishReason: FinishReason | '' = '';
  private readonly stopIds: Set<number>;
  private readonly eosIds: Set<number>;

  constructor(
    private readonly detokenizer: Detokenizer,
    private readonly conditions: StopConditions,
  ) {
    this.stopIds = new Set(conditions.stopTokenIds);
    this.eosIds = new Set(conditions.eosTokenIds);
  }

  get finished(): boolean {
    return this.finishReason !== '';
  }

  get numOutputTokens(): number {
    return this.numOutput;
  }

  /** Ids the sampler must not pick for the next token: EOS under ignore_eos, EOS and stop ids under min_tokens. */
  bannedIds(): number[] {
    const banned = new Set<number>();
    const belowMin = this.numOutput < this.conditions.minTokens;
    if (belowMin || this.conditions.ignoreEos) for (const id of this.eosIds) banned.add(id);
    if (belowMin) for (const id of this.stopIds) banned.add(id);
    return [...banned];
  }

  append(token: SampledToken__Output): ChoiceUpdate {
    if (this.finished) throw new Error('ChoiceOutputProcessor.append after the choice finished');
    this.numOutput++;
    const update: ChoiceUpdate = {
      tokenIds: [token.tokenId],
      text: '',
      logprobs: this.conditions.includeLogprobs ? [token] : [],
      finishReason: '',
      stopReason: '',
    };
    const isStopId = this.stopIds.has(token.tokenId);
    if (isStopId || (!this.conditions.ignoreEos && this.eosIds.has(token.tokenId))) {
      const { text, stop } = this.release(this.detokenizer.flush(), true);
      return this.finish(update, text, 'stop', stop ?? (isStopId ? String(token.tokenId) : ''));
    }
    const atLimit = this.numOutput >= this.conditions.maxTokens;
    const piece = this.detokenizer.push(token.tokenId);
    const { text, stop } = this.release(atLimit ? piece + this.detokenizer.flush() : piece, atLimit);
    if (stop !== null) return this.finish(update, text, 'stop', stop);
    if (atLimit) return this.finish(update, text, 'length', '');
    update.text = text;
    return update;
  }

  /** Ends the choice because the request was aborted (held-back text is dropped). */
  abort(): ChoiceUpdate {
    this.finishReason = 'abort';
    return { tokenIds: [], text: '', logprobs: [], finishReason: 'abort', stopReason: '' };
  }

  /** The streamable part of held text + `newText`, cut before a stop string when one appears. */
  private release(newText: string, final: boolean): { text: string; stop: string | null } {
    const combined = this.heldText + newText;
    this.heldText = '';
    const stops = this.conditions.stop;
    // vLLM's rule: stop strings count only once min_tokens were generated.
    if (stops.length === 0 || this.numOutput < this.conditions.minTokens) return { text: combined, stop: null };
    const found = findStop(combined, stops);
    if (found !== null) return { text: combined.slice(0, found.index), stop: found.stop };
    if (final) return { text: combined, stop: null };
    const held = stopPrefixSuffixLength(combined, stops);
    this.heldText = combined.slice(combined.length - held);
    return { text: combined.slice(0, combined.length - held), stop: null };
  }

  private finish(update: ChoiceUpdate, text: string, reason: FinishReason, stopReason: string): ChoiceUpdate {
    this.finishReason = reason;
    return { ...update, text, finishReason: reason, stopReason };
  }
}
