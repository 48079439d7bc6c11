// Splits M2 output into reasoning and answer, whole (splitReasoning) or as a stream
// (ReasoningStreamSplitter). The rule is the seed's: everything after the LAST `</think>` is content,
// before it is reasoning; with thinking off there is no reasoning at all. Newlines that only frame
// the think block (after `<think>`, around `</think>`) are dropped, as Baichuan's reference parser does.
import type { ThinkingMode } from './chat-template.ts';
import { THINK_END_ID, THINK_START_ID } from './tokenizer.ts';

const THINK_START = '<think>';
const THINK_END = '</think>';
/** A reasoning block the model opened itself, possibly after blank lines. */
const OPENING = /^\n*<think>/;

export interface ReasoningSplit {
  /** null when the output has no reasoning (thinking off, or auto and the model did not think). */
  reasoning_content: string | null;
  content: string;
}

function trimNewlines(text: string): string {
  return text.replace(/^\n+/, '').replace(/\n+$/, '');
}

function reasoningText(text: string): string {
  return trimNewlines(text.replace(OPENING, ''));
}

export function splitReasoning(text: string, mode: ThinkingMode): ReasoningSplit {
  if (mode === 'off') return { reasoning_content: null, content: text };
  const end = text.lastIndexOf(THINK_END);
  if (end >= 0) {
    return {
      reasoning_content: reasoningText(text.slice(0, end)),
      content: text.slice(end + THINK_END.length).replace(/^\n+/, ''),
    };
  }
  // "on" opened <think> in the prompt: with no </think> yet, all of it is (unfinished) reasoning.
  if (mode === 'on' || OPENING.test(text)) return { reasoning_content: reasoningText(text), content: '' };
  return { reasoning_content: null, content: text };
}

export interface ReasoningDelta {
  reasoning?: string;
  content?: string;
}

/**
 * undecided: auto mode before the first non-newline text (a `<think>` there opens reasoning).
 * reasoning / content: where the next text goes.
 */
type Phase = 'undecided' | 'reasoning' | 'content';

/**
 * Streaming split driven by token ids (the switch is the `</think>` id, 151668) and the
 * detokenizer's text deltas. Matches splitReasoning on the concatenated text whenever the output
 * has at most one `</think>` and, in auto mode, that `</think>` closes a block the model opened.
 * A stream cannot unsay text, so beyond that it differs: after a second `</think>` (or a `</think>`
 * in auto mode without an opening `<think>`), the text before it was already streamed as content;
 * the splitter drops that `</think>` and keeps streaming content, so the streamed content is the
 * non-streamed content preceded by that text, which splitReasoning counts as reasoning instead.
 * Tags spelled out by other tokens than the two tag ids are plain text here.
 */
export class ReasoningStreamSplitter {
  private phase: Phase;
  /** Newlines not yet placed: leading ones while undecided, trailing ones in reasoning. */
  private held = '';
  /** Whether a leading `<think>` may still be dropped (only the first, and only before any text). */
  private openingAllowed = true;
  /** Reasoning emitted nothing yet, so its leading newlines are framing. */
  private reasoningEmpty = true;
  /** Just after a `</think>`: the separator newlines before the answer are framing. */
  private contentAfterThinkEnd = false;

  constructor(private readonly mode: ThinkingMode) {
    this.phase = mode === 'on' ? 'reasoning' : mode === 'off' ? 'content' : 'undecided';
  }

  /** Feeds one generated token and the text delta the detokenizer returned for it. */
  push(tokenId: number, delta: string): ReasoningDelta {
    if (this.mode === 'off') return delta === '' ? {} : { content: delta };
    const out: ReasoningDelta = {};
    if (tokenId === THINK_END_ID) {
      this.emit(withoutSuffix(delta, THINK_END), out);
      // Held newlines were either trailing reasoning or, while undecided, an empty think block.
      this.held = '';
      this.phase = 'content';
      this.contentAfterThinkEnd = true;
      this.openingAllowed = false;
    } else if (tokenId === THINK_START_ID && this.openingAllowed && this.phase !== 'content'
      && /^\n*$/.test(this.held + withoutSuffix(delta, THINK_START))) {
      this.held = '';
      this.phase = 'reasoning';
      this.openingAllowed = false;
    } else {
      this.emit(delta, out);
    }
    return out;
  }

  /** Ends the stream: newlines held while undecided are content; trailing reasoning newlines drop. */
  finish(): ReasoningDelta {
    const held = this.held;
    this.held = '';
    return this.phase === 'undecided' && held !== '' ? { content: held } : {};
  }

  private emit(text: string, out: ReasoningDelta): void {
    if (text === '') return;
    if (this.phase === 'undecided') {
      this.held += text;
      if (/^\n*$/.test(this.held)) return;
      this.phase = 'content';
      this.openingAllowed = false;
      text = this.held;
      this.held = '';
    }
    if (this.phase === 'reasoning') {
      if (this.reasoningEmpty) text = text.replace(/^\n+/, '');
      if (text === '') return;
      this.reasoningEmpty = false;
      this.openingAllowed = false;
      const full = this.held + text;
      const trailing = /\n+$/.exec(full);
      this.held = trailing ? trailing[0] : '';
      append(out, 'reasoning', full.slice(0, full.length - this.held.length));
      return;
    }
    if (this.contentAfterThinkEnd) {
      text = text.replace(/^\n+/, '');
      if (text === '') return;
      this.contentAfterThinkEnd = false;
    }
    append(out, 'content', text);
  }
}

function withoutSuffix(text: string, suffix: string): string {
  return text.endsWith(suffix) ? text.slice(0, -suffix.length) : text;
}

function append(out: ReasoningDelta, key: keyof ReasoningDelta, text: string): void {
  if (text !== '') out[key] = (out[key] ?? '') + text;
}
