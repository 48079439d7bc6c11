// Reasoning/content split: the last-</think> rule, thinking off, only-</think> output, and the
// streaming splitter fed by real token ids and detokenizer deltas agreeing with the whole-text split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ThinkingMode } from '../../coordinator/text/chat-template.ts';
import { IncrementalDetokenizer } from '../../coordinator/text/detokenizer.ts';
import { ReasoningStreamSplitter, splitReasoning } from '../../coordinator/text/reasoning.ts';
import { QwenTokenizer } from '../../coordinator/text/tokenizer.ts';

const tokenizer = QwenTokenizer.fromModelDir(QwenTokenizer.bundledFilesDir());

/** Streams `text` as the model would produce it and folds the splitter's deltas. */
function streamSplit(text: string, mode: ThinkingMode): { reasoning: string; content: string } {
  const detok = new IncrementalDetokenizer(tokenizer);
  const splitter = new ReasoningStreamSplitter(mode);
  let reasoning = '';
  let content = '';
  const take = (d: { reasoning?: string; content?: string }): void => {
    assert.ok(d.reasoning !== '' && d.content !== '', 'empty strings are left out of deltas');
    reasoning += d.reasoning ?? '';
    content += d.content ?? '';
  };
  for (const id of tokenizer.encode(text)) take(splitter.push(id, detok.push(id)));
  const rest = detok.flush();
  assert.equal(rest, '');
  take(splitter.finish());
  return { reasoning, content };
}

function assertStreamMatches(text: string, mode: ThinkingMode): void {
  const whole = splitReasoning(text, mode);
  const streamed = streamSplit(text, mode);
  assert.deepEqual(streamed, { reasoning: whole.reasoning_content ?? '', content: whole.content }, `${mode}: ${JSON.stringify(text)}`);
}

test('everything after the last </think> is content, before it reasoning', () => {
  assert.deepEqual(splitReasoning('<think>\nCheck vitals.\n</think>\n\nGo to the ER.', 'on'),
    { reasoning_content: 'Check vitals.', content: 'Go to the ER.' });
  assert.deepEqual(splitReasoning('<think>\nA</think>B\n</think>\n\nC', 'auto'),
    { reasoning_content: 'A</think>B', content: 'C' });
  assert.deepEqual(splitReasoning('患者发热🤒。\n\n</think>\n\n建议就医。', 'on'),
    { reasoning_content: '患者发热🤒。', content: '建议就医。' });
});

test('output with only </think>: reasoning before it even without <think>, in on and auto', () => {
  assert.deepEqual(splitReasoning('Reasoning here</think>Answer', 'on'), { reasoning_content: 'Reasoning here', content: 'Answer' });
  assert.deepEqual(splitReasoning('Reasoning here</think>Answer', 'auto'), { reasoning_content: 'Reasoning here', content: 'Answer' });
  assert.deepEqual(splitReasoning('</think>\n\nAnswer', 'on'), { reasoning_content: '', content: 'Answer' });
});

test('no </think> yet: on is all reasoning, auto is content unless the model opened <think>', () => {
  assert.deepEqual(splitReasoning('Still thinking\n', 'on'), { reasoning_content: 'Still thinking', content: '' });
  assert.deepEqual(splitReasoning('Direct answer.', 'auto'), { reasoning_content: null, content: 'Direct answer.' });
  assert.deepEqual(splitReasoning('\n<think>\nhmm', 'auto'), { reasoning_content: 'hmm', content: '' });
  assert.deepEqual(splitReasoning('', 'auto'), { reasoning_content: null, content: '' });
});

test('thinking off: no reasoning at all, every character is content', () => {
  const text = '<think>\nx\n</think>\n\nAnswer';
  assert.deepEqual(splitReasoning(text, 'off'), { reasoning_content: null, content: text });
  assert.deepEqual(streamSplit(text, 'off'), { reasoning: '', content: text });
});

test('streaming equals the whole-text split for well-formed outputs', () => {
  const cases: Array<[ThinkingMode, string]> = [
    ['on', 'Let me think.\nStep 1.\n\n</think>\n\nAnswer 42.'],
    ['on', '\n<think>\nR\n</think>\n\nA'],
    ['on', 'Unfinished reasoning\n\n'],
    ['on', '</think>\n\nOnly the answer'],
    ['on', 'A\n\n\nB <think> inline</think>\n\nC\n\nD\n'],
    ['on', ''],
    ['auto', '<think>\nR\n</think>\n\nA'],
    ['auto', '\n\n<think>R</think>A'],
    ['auto', 'Direct answer with <think> inside.'],
    ['auto', '\n\nDirect'],
    ['auto', '<think>unfinished'],
    ['auto', '\n\n'],
    ['auto', '\n</think>\n\nA'],
    ['auto', ' <think>not an opening</think'],
    ['on', '<think>\n患者发热🤒，考虑感染。\n</think>\n\n建议就医👩‍⚕️。'],
  ];
  for (const [mode, text] of cases) assertStreamMatches(text, mode);
});

test('streaming equals the whole-text split on random well-formed outputs (seeded)', () => {
  let seed = 12345;
  const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pieces = ['\n', '\n\n', 'dose', ' 血压', '🤒', ' ', '<think>', 'ǅ', '\n\n\n'];
  const pick = (n: number): string => Array.from({ length: n }, () => pieces[Math.floor(random() * pieces.length)]).join('');
  for (let i = 0; i < 300; i++) {
    const mode: ThinkingMode = random() < 0.5 ? 'on' : 'auto';
    const opened = mode === 'auto' ? (random() < 0.5 ? '<think>' : '') : '';
    const closed = mode === 'on' || opened !== '' ? random() < 0.7 : false;
    const text = opened + pick(Math.floor(random() * 6)) + (closed ? '</think>' + pick(Math.floor(random() * 6)) : '');
    assertStreamMatches(text, mode);
  }
});

test('a second </think> after streaming began: documented divergence, content keeps streaming', () => {
  const text = 'R</think>C1\n</think>\n\nC2';
  assert.deepEqual(splitReasoning(text, 'on'), { reasoning_content: 'R</think>C1', content: 'C2' });
  assert.deepEqual(streamSplit(text, 'on'), { reasoning: 'R', content: 'C1\nC2' });
  // auto without an opening <think>: streamed as content before the (late) </think>.
  assert.deepEqual(splitReasoning('Answer</think>\n\nMore', 'auto'), { reasoning_content: 'Answer', content: 'More' });
  assert.deepEqual(streamSplit('Answer</think>\n\nMore', 'auto'), { reasoning: '', content: 'AnswerMore' });
});
