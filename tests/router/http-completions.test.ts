// POST /v1/completions: raw prompts (text or token ids, no template, no reasoning split), the
// completions logprobs shape, streaming, and the options refused rather than silently ignored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { post, postStream, startStack, tinyTokenizer, type Stack } from './harness.ts';

let stack: Stack;
const url = () => `${stack.url}/v1/completions`;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.close();
});

test('a text prompt is tokenized as is; the output is all text, </think> included', async () => {
  stack.fake.outputText = 'a</think>b';
  const res = await post(url(), { prompt: 'Once upon a time', max_tokens: 50 });
  assert.equal(res.status, 200);
  assert.equal(res.body.object, 'text_completion');
  assert.deepEqual(stack.fake.lastRequest.promptTokenIds, tinyTokenizer().encode('Once upon a time'));
  assert.deepEqual(stack.fake.lastRequest.params!.sampling!.bannedIds, []);
  assert.equal(res.body.choices[0].text, 'a</think>b');
  assert.equal(res.body.choices[0].finish_reason, 'stop');
  assert.equal(res.body.choices[0].logprobs, null);
  assert.equal(res.body.usage.prompt_tokens, 4);
});

test('a token-id prompt goes to the coordinator unchanged; ids outside the vocabulary are refused', async () => {
  await post(url(), { prompt: [1, 2, 3] });
  assert.deepEqual(stack.fake.lastRequest.promptTokenIds, [1, 2, 3]);
  const bad = await post(url(), { prompt: [1, 999999] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'prompt');
});

test('logprobs: parallel arrays with text offsets', async () => {
  stack.fake.outputText = 'The answer is';
  const res = await post(url(), { prompt: 'Q:', logprobs: 2, max_tokens: 3 });
  const lp = res.body.choices[0].logprobs;
  assert.deepEqual(lp.tokens, ['The', ' answer', ' is']);
  assert.equal(lp.token_logprobs.length, 3);
  assert.deepEqual(lp.text_offset, [0, 3, 10]);
  assert.equal(lp.top_logprobs.length, 3);
  assert.equal(Object.keys(lp.top_logprobs[0]).length, 2);
  assert.equal(res.body.choices[0].finish_reason, 'length');
});

test('streaming: text chunks then [DONE]; usage chunk when asked', async () => {
  stack.fake.outputText = 'one two three four';
  const res = await postStream(url(), { prompt: 'count:', stream: true, stream_options: { include_usage: true }, logprobs: 0 });
  assert.ok(res.done);
  const chunks = res.events.slice(0, -1);
  assert.equal(chunks.map((e) => e.choices[0].text).join(''), 'one two three four');
  assert.equal(chunks.at(-1)!.choices[0].finish_reason, 'stop');
  const offsets = chunks.flatMap((e) => e.choices[0].logprobs.text_offset);
  assert.deepEqual(offsets, [0, 3, 7, 13, 18], 'offsets continue across chunks (last: <|im_end|>)');
  assert.equal(res.events.at(-1)!.usage.completion_tokens, 5);
});

test('echo, suffix, best_of and prompt batches are refused, naming the field', async () => {
  for (const [fields, param] of [
    [{ echo: true }, 'echo'],
    [{ suffix: 'x' }, 'suffix'],
    [{ best_of: 3 }, 'best_of'],
    [{ prompt: ['a', 'b'] }, 'prompt'],
    [{ prompt: { text: 'a' } }, 'prompt'],
    [{ prompt: null }, 'prompt'],
    [{ logprobs: true }, 'logprobs'],
  ] as const) {
    const res = await post(url(), { prompt: 'hi', ...fields });
    assert.equal(res.status, 400, JSON.stringify(fields));
    assert.equal(res.body.error.param, param, JSON.stringify(res.body));
  }
});
