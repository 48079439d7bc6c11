// ChoiceSplitter against the whole-text rule (splitReasoning): however the coordinator groups
// tokens into updates, and even when a tag's text arrives an update after its id, the streamed
// reasoning and content add up to the whole split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitReasoning } from '../../coordinator/text/reasoning.ts';
import type { ThinkingMode } from '../../coordinator/text/chat-template.ts';
import { ChoiceSplitter } from '../../router/choice-splitter.ts';
import { tinyTokenizer } from './harness.ts';

interface Update {
  ids: number[];
  text: string;
}

/** Groups a text's tokens `size` at a time, each update carrying its tokens' text. */
function updates(text: string, size: number): Update[] {
  const tok = tinyTokenizer();
  const ids = tok.encode(text, { addSpecialTokens: false });
  const out: Update[] = [];
  for (let i = 0; i < ids.length; i += size) {
    const group = ids.slice(i, i + size);
    out.push({ ids: group, text: tok.decode(group) });
  }
  return out;
}

function streamed(mode: ThinkingMode | null, list: Update[]): { reasoning: string; content: string } {
  const splitter = new ChoiceSplitter(mode);
  let reasoning = '';
  let content = '';
  for (const d of [...list.map((u) => splitter.push(u.ids, u.text)), splitter.finish()]) {
    reasoning += d.reasoning ?? '';
    content += d.content ?? '';
  }
  return { reasoning, content };
}

const TEXTS: Array<[ThinkingMode, string]> = [
  ['on', 'Let me think.</think>\n\nThe answer is 4.'],
  ['on', '\nStill thinking, no answer yet'],
  ['auto', '<think>\nhmm, 2+2\n</think>\n\nFour.'],
  ['auto', 'No thinking here.'],
  ['off', 'Off: <think>kept</think> as text.'],
];

test('any grouping of tokens gives the whole-text split', () => {
  for (const [mode, text] of TEXTS) {
    const whole = splitReasoning(text, mode);
    for (const size of [1, 2, 3, 7, 100]) {
      const got = streamed(mode, updates(text, size));
      assert.equal(got.reasoning, whole.reasoning_content ?? '', `${mode} ${size} ${JSON.stringify(text)}`);
      assert.equal(got.content, whole.content, `${mode} ${size} ${JSON.stringify(text)}`);
    }
  }
});

test('a tag whose text comes one update after its id still switches at the right place', () => {
  const [first, second] = [updates('Reasoning.</think>', 100)[0]!, updates('\n\nAnswer.', 100)[0]!];
  // The coordinator held "</think>" back (it could start a stop string) and sent it with the next text.
  const held: Update[] = [
    { ids: first.ids, text: 'Reasoning.' },
    { ids: second.ids, text: '</think>\n\nAnswer.' },
  ];
  assert.deepEqual(streamed('on', held), { reasoning: 'Reasoning.', content: 'Answer.' });
});

test('a raw prompt (no template) gives content only', () => {
  assert.deepEqual(streamed(null, updates('a</think>b', 1)), { reasoning: '', content: 'a</think>b' });
});
