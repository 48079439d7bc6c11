// Turns one sequence's generated ids into text deltas as they arrive. Byte-level BPE splits
// characters (emoji, CJK) across tokens, so decoding token by token would emit U+FFFD halves;
// like vLLM we keep a prefix/read window and emit only once the window's text no longer ends in an
// incomplete character. Concatenated deltas equal decoding all ids at once.
import type { DecodeOptions } from './tokenizer.ts';
import { TextError } from './errors.ts';

/** What the detokenizer needs from a tokenizer (QwenTokenizer satisfies it). */
export interface TokenDecoder {
  decode(ids: readonly number[], options?: DecodeOptions): string;
}

export interface IncrementalDetokenizerOptions {
  /** Leave special tokens (`<|im_end|>`, ...) out of the text. Default false. */
  skipSpecialTokens?: boolean;
}

const REPLACEMENT_CHAR = '\uFFFD';

export class IncrementalDetokenizer {
  private readonly decodeOptions: DecodeOptions;
  /** Ids from the prefix offset on: [0, readIndex) is already emitted context, the rest is pending. */
  private window: number[] = [];
  private readIndex = 0;
  /** Text of window[0, readIndex), the part of the window's decode that was already emitted. */
  private prefixText = '';
  private finished = false;

  constructor(private readonly decoder: TokenDecoder, options: IncrementalDetokenizerOptions = {}) {
    this.decodeOptions = { skipSpecialTokens: options.skipSpecialTokens ?? false };
  }

  /** Adds one generated id; returns the text it completes ('' while a character is still partial). */
  push(id: number): string {
    if (this.finished) throw new TextError('invalid_token_id', 'IncrementalDetokenizer.push after flush()');
    if (!Number.isInteger(id) || id < 0) throw new TextError('invalid_token_id', `invalid token id: ${String(id)}`);
    this.window.push(id);
    const text = this.decoder.decode(this.window, this.decodeOptions);
    if (text.length <= this.prefixText.length || text.endsWith(REPLACEMENT_CHAR)) return '';
    const delta = text.slice(this.prefixText.length);
    // The ids just emitted become the context for the next window; older ids are no longer needed.
    this.window = this.window.slice(this.readIndex);
    this.readIndex = this.window.length;
    this.prefixText = this.decoder.decode(this.window, this.decodeOptions);
    return delta;
  }

  /**
   * Ends the sequence: returns whatever was held back (an incomplete character decodes to U+FFFD,
   * exactly as decoding all ids would). push() afterwards throws.
   */
  flush(): string {
    this.finished = true;
    const text = this.decoder.decode(this.window, this.decodeOptions);
    this.window = [];
    return text.length > this.prefixText.length ? text.slice(this.prefixText.length) : '';
  }
}
