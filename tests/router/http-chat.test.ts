// POST /v1/chat/completions against a fake coordinator, with node's fetch as the client: reasoning
// split on/off/auto (whole and streamed), SSE framing, usage, n, logprobs, and that every
// parameter reaches the coordinator validated and defaulted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { THINK_START_ID } from '../../coordinator/text/tokenizer.ts';
import { MODEL_NAME, post, postStream, startStack, tinyTokenizer, type Stack } from './harness.ts';

let stack: Stack;
const chatUrl = () => `${stack.url}/v1/chat/completions`;
const messages = [{ role: 'user', content: 'What is 2+2?' }];

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.close();
});

function promptText(): string {
  return tinyTokenizer().decode(stack.fake.lastRequest.promptTokenIds);
}

test('thinking on (the default): reasoning before </think>, the answer after', async () => {
  stack.fake.outputText = 'Let me think.</think>\n\nThe answer is 4.';
  const res = await post(chatUrl(), { model: MODEL_NAME, messages });
  assert.equal(res.status, 200);
  assert.equal(res.body.object, 'chat.completion');
  assert.equal(res.body.model, MODEL_NAME);
  const choice = res.body.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.reasoning_content, 'Let me think.');
  assert.equal(choice.message.content, 'The answer is 4.');
  assert.equal(choice.finish_reason, 'stop');
  assert.ok(promptText().endsWith('<|im_start|>assistant\n<think>\n'), promptText());
  assert.deepEqual(stack.fake.lastRequest.params!.sampling!.bannedIds, []);
});

test('thinking off: no reasoning at all, <think> banned, the prompt closes the think block', async () => {
  stack.fake.outputText = 'Four.';
  for (const switchOff of [{ thinking_mode: 'off' }, { thinking_mode: false }, { enable_thinking: false }, { chat_template_kwargs: { thinking_mode: 'off' } }]) {
    const res = await post(chatUrl(), { model: MODEL_NAME, messages, ...switchOff });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.choices[0].message.reasoning_content, null);
    assert.equal(res.body.choices[0].message.content, 'Four.');
    assert.ok(promptText().endsWith('<think>\n\n</think>\n\n'), JSON.stringify(switchOff));
    assert.deepEqual(stack.fake.lastRequest.params!.sampling!.bannedIds, [THINK_START_ID]);
  }
});

test('thinking auto: reasoning only when the model opens <think> itself', async () => {
  stack.fake.outputText = '<think>\nhmm\n</think>\n\nHi';
  let res = await post(chatUrl(), { messages, thinking_mode: 'auto' });
  assert.equal(res.body.choices[0].message.reasoning_content, 'hmm');
  assert.equal(res.body.choices[0].message.content, 'Hi');
  assert.ok(promptText().endsWith('<|im_start|>assistant\n'));
  stack.fake.outputText = 'Just an answer.';
  res = await post(chatUrl(), { messages, thinking_mode: 'auto' });
  assert.equal(res.body.choices[0].message.reasoning_content, null);
  assert.equal(res.body.choices[0].message.content, 'Just an answer.');
});

test('streaming: role first, reasoning deltas until </think>, then content deltas, [DONE] last', async () => {
  stack.fake.outputText = 'Let me think about it.</think>\n\nThe answer is 4.';
  const res = await postStream(chatUrl(), { model: MODEL_NAME, messages, stream: true });
  assert.equal(res.status, 200);
  assert.ok(res.done);
  const deltas = res.events.map((e) => e.choices[0].delta);
  assert.deepEqual(deltas[0], { role: 'assistant', content: '' });
  let reasoning = '';
  let content = '';
  let sawContent = false;
  for (const d of deltas.slice(1)) {
    assert.ok(!(d.reasoning_content && d.content), 'a delta never mixes reasoning and content');
    if (d.content) sawContent = true;
    if (d.reasoning_content) assert.ok(!sawContent, 'no reasoning after content started');
    reasoning += d.reasoning_content ?? '';
    content += d.content ?? '';
  }
  assert.equal(reasoning, 'Let me think about it.');
  assert.equal(content, 'The answer is 4.');
  assert.ok(res.events.length > 4, 'streamed in several chunks');
  assert.equal(res.events.at(-1)!.choices[0].finish_reason, 'stop');
  assert.ok(res.events.every((e) => e.object === 'chat.completion.chunk' && e.id === res.events[0]!.id && !('usage' in e)));
});

test('streaming with thinking off carries content only', async () => {
  stack.fake.outputText = 'Plain answer, no tags.';
  const res = await postStream(chatUrl(), { messages, stream: true, thinking_mode: 'off' });
  const text = res.events.map((e) => e.choices[0].delta.content ?? '').join('');
  assert.equal(text, 'Plain answer, no tags.');
  assert.ok(res.events.every((e) => e.choices[0].delta.reasoning_content === undefined));
});

test('usage: in the body, and in a last chunk with stream_options.include_usage', async () => {
  stack.fake.outputText = 'ok</think>fine';
  stack.fake.cachedTokens = 5;
  const whole = await post(chatUrl(), { messages });
  const promptTokens = stack.fake.lastRequest.promptTokenIds.length;
  const completion = tinyTokenizer().encode('ok</think>fine').length + 1; // + <|im_end|>
  assert.deepEqual(whole.body.usage, {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: 5 },
  });
  const streamed = await postStream(chatUrl(), { messages, stream: true, stream_options: { include_usage: true } });
  const last = streamed.events.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, whole.body.usage);
  assert.ok(streamed.events.slice(0, -1).every((e) => e.usage === null));
});

test('n=2 gives two independent choices, streamed and whole', async () => {
  stack.fake.outputText = 'a</think>b';
  const whole = await post(chatUrl(), { messages, n: 2 });
  assert.deepEqual(whole.body.choices.map((c: { index: number }) => c.index), [0, 1]);
  assert.equal(stack.fake.lastRequest.params!.n, 2);
  const streamed = await postStream(chatUrl(), { messages, n: 2, stream: true });
  for (const index of [0, 1]) {
    const mine = streamed.events.filter((e) => e.choices[0].index === index);
    assert.equal(mine.map((e) => e.choices[0].delta.content ?? '').join(''), 'b');
    assert.equal(mine.at(-1)!.choices[0].finish_reason, 'stop');
  }
});

test('logprobs with top_logprobs: OpenAI chat shape, one entry per token', async () => {
  stack.fake.outputText = 'x</think>The answer';
  const res = await post(chatUrl(), { messages, logprobs: true, top_logprobs: 3, max_tokens: 4 });
  assert.equal(stack.fake.lastRequest.params!.sampling!.logprobs, 3);
  const content = res.body.choices[0].logprobs.content;
  assert.equal(content.length, 4);
  for (const entry of content) {
    assert.equal(typeof entry.token, 'string');
    assert.equal(typeof entry.logprob, 'number');
    assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);
    assert.equal(entry.top_logprobs.length, 3);
    assert.equal(entry.top_logprobs[0].token, entry.token);
  }
  assert.equal(content[1].token, '</think>');
  assert.equal(res.body.choices[0].finish_reason, 'length');
  const plain = await post(chatUrl(), { messages });
  assert.equal(plain.body.choices[0].logprobs, null);
  assert.equal(stack.fake.lastRequest.params!.sampling!.logprobs, -1);
});

test('sampling and stopping parameters reach the coordinator; unset ones take generation_config defaults', async () => {
  await post(chatUrl(), {
    messages,
    temperature: 0.5, top_p: 0.9, top_k: 7, min_p: 0.05, presence_penalty: 0.5, frequency_penalty: -0.5, repetition_penalty: 1.1,
    seed: 42, stop: ['END', 'STOP'], stop_token_ids: [13], max_completion_tokens: 9, min_tokens: 2, ignore_eos: true,
    logit_bias: { '100': 5, '200': -100 }, session_id: 'from-body', some_unknown_field: { ignored: true },
  });
  const p = stack.fake.lastRequest.params!;
  const s = p.sampling!;
  assert.equal(s.temperature, Math.fround(0.5));
  assert.equal(s.topP, Math.fround(0.9));
  assert.equal(s.topK, 7);
  assert.equal(s.minP, Math.fround(0.05));
  assert.equal(s.presencePenalty, 0.5);
  assert.equal(s.frequencyPenalty, -0.5);
  assert.equal(s.repetitionPenalty, Math.fround(1.1));
  assert.equal(s.seed, 42);
  assert.equal(p.seedUnset, false);
  assert.deepEqual(p.stop, ['END', 'STOP']);
  assert.deepEqual(p.stopTokenIds, [13]);
  assert.equal(p.maxTokens, 9);
  assert.equal(p.minTokens, 2);
  assert.equal(p.ignoreEos, true);
  assert.deepEqual(s.logitBiasIds, [100, 200]);
  assert.deepEqual(s.logitBiasValues, [5, -100]);
  assert.equal(stack.fake.lastRequest.sessionId, 'from-body');

  await post(chatUrl(), { messages }, { 'x-session-id': 'from-header' });
  const d = stack.fake.lastRequest.params!;
  // tiny's generation_config.json: temperature 0.6, top_p 0.95, top_k 20.
  assert.equal(d.sampling!.temperature, Math.fround(0.6));
  assert.equal(d.sampling!.topP, Math.fround(0.95));
  assert.equal(d.sampling!.topK, 20);
  assert.equal(d.seedUnset, true);
  assert.equal(d.maxTokens, 4096 - stack.fake.lastRequest.promptTokenIds.length, 'default budget fills the context');
  assert.equal(stack.fake.lastRequest.sessionId, 'from-header');
});

test('GET /v1/models lists the served model; /health and /ready answer', async () => {
  const models = await (await fetch(`${stack.url}/v1/models`)).json() as { data: Array<{ id: string; max_model_len: number }> };
  assert.equal(models.data[0]!.id, MODEL_NAME);
  assert.equal(models.data[0]!.max_model_len, 4096, 'the replica reports less than the config');
  assert.equal((await fetch(`${stack.url}/health`)).status, 200);
  assert.equal((await fetch(`${stack.url}/ready`)).status, 200);
});
