// Feeds one choice's coordinator updates to ReasoningStreamSplitter. The splitter takes one token
// and its text at a time, but a coordinator update may carry several tokens with their text joined,
// and a tag's text may arrive in a later update than its id (the coordinator holds text back that
// could start a stop string). So updates are cut at the tag texts, in the order the tag ids came.
import type { ThinkingMode } from '../coordinator/text/chat-template.ts';
import { ReasoningStreamSplitter, type ReasoningDelta } from '../coordinator/text/reasoning.ts';
import { THINK_END_ID, THINK_START_ID } from '../coordinator/text/tokenizer.ts';

const TAG_TEXT: ReadonlyMap<number, string> = new Map([[THINK_START_ID, '<think>'], [THINK_END_ID, '</think>']]);
/** Any id that is not a tag: text pushed with it is plain text to the splitter. */
const PLAIN_TEXT_ID = -1;

export class ChoiceSplitter {
  private readonly splitter: ReasoningStreamSplitter;
  /** Tag ids seen whose text has not arrived yet, oldest first. */
  private readonly pendingTags: number[] = [];

  /** `mode` null: a raw prompt without template, whose output is all content. */
  constructor(mode: ThinkingMode | null) {
    this.splitter = new ReasoningStreamSplitter(mode ?? 'off');
  }

  push(tokenIds: readonly number[], text: string): ReasoningDelta {
    const out: ReasoningDelta = {};
    for (const id of tokenIds) if (TAG_TEXT.has(id)) this.pendingTags.push(id);
    let rest = text;
    while (this.pendingTags.length > 0) {
      const tag = this.pendingTags[0]!;
      const tagText = TAG_TEXT.get(tag)!;
      const at = rest.indexOf(tagText);
      if (at < 0) break;
      merge(out, this.splitter.push(tag, rest.slice(0, at + tagText.length)));
      rest = rest.slice(at + tagText.length);
      this.pendingTags.shift();
    }
    if (rest !== '') merge(out, this.splitter.push(PLAIN_TEXT_ID, rest));
    return out;
  }

  /** Ends the choice; a tag whose text never came (a stop cut it) still switches phase. */
  finish(): ReasoningDelta {
    const out: ReasoningDelta = {};
    for (const tag of this.pendingTags.splice(0)) merge(out, this.splitter.push(tag, ''));
    merge(out, this.splitter.finish());
    return out;
  }
}

function merge(into: ReasoningDelta, from: ReasoningDelta): void {
  if (from.reasoning) into.reasoning = (into.reasoning ?? '') + from.reasoning;
  if (from.content) into.content = (into.content ?? '') + from.content;
}
