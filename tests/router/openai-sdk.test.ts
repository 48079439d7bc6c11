// The official `openai` npm client against the router, unchanged: chat and completions, whole and
// streamed, with the router's extra fields (reasoning_content, thinking_mode) passed the way SDK
// users pass them, and an API error surfacing as the SDK's typed error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { MODEL_NAME, startStack, type Stack } from './harness.ts';

let stack: Stack;
let client: OpenAI;

before(async () => {
  stack = await startStack();
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await stack.close();
});

/** reasoning_content is a vLLM-style extension the SDK passes through untyped. */
function reasoningOf(message: object): unknown {
  return (message as { reasoning_content?: unknown }).reasoning_content;
}

test('chat.completions.create: reasoning and content, usage with cached tokens', async () => {
  stack.fake.outputText = 'Hmm.</think>\n\nIt is 4.';
  const res = await client.chat.completions.create({ model: MODEL_NAME, messages: [{ role: 'user', content: '2+2?' }], seed: 1 });
  assert.equal(res.choices[0]!.message.content, 'It is 4.');
  assert.equal(reasoningOf(res.choices[0]!.message), 'Hmm.');
  assert.equal(res.choices[0]!.finish_reason, 'stop');
  assert.equal(res.usage!.prompt_tokens_details!.cached_tokens, stack.fake.cachedTokens);
});

test('chat streaming through the SDK, thinking off via an extra body field', async () => {
  stack.fake.outputText = 'Streamed answer.';
  // thinking_mode is our extension; the SDK sends extra body fields as they are.
  const body = {
    model: MODEL_NAME,
    messages: [{ role: 'user' as const, content: 'hi' }],
    stream: true as const,
    stream_options: { include_usage: true },
    thinking_mode: 'off',
  };
  const stream = await client.chat.completions.create(body);
  let content = '';
  let reasoning = '';
  let usageTokens = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    content += delta?.content ?? '';
    reasoning += String(delta ? reasoningOf(delta) ?? '' : '');
    usageTokens = chunk.usage?.completion_tokens ?? usageTokens;
  }
  assert.equal(content, 'Streamed answer.');
  assert.equal(reasoning, '');
  assert.ok(usageTokens > 0);
});

test('completions.create, whole and streamed, with logprobs', async () => {
  stack.fake.outputText = 'and then';
  const res = await client.completions.create({ model: MODEL_NAME, prompt: 'Once', max_tokens: 2, logprobs: 1 });
  assert.equal(res.choices[0]!.text, 'and then');
  assert.deepEqual(res.choices[0]!.logprobs!.tokens, ['and', ' then']);
  assert.equal(res.choices[0]!.finish_reason, 'length');
  const stream = await client.completions.create({ model: MODEL_NAME, prompt: 'Once', stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, 'and then');
});

test('errors surface as the SDK error classes with status and param', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (err: unknown) => err instanceof OpenAI.NotFoundError && err.status === 404,
  );
  await assert.rejects(
    client.chat.completions.create({ model: MODEL_NAME, messages: [{ role: 'user', content: 'x' }], temperature: -3 }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'temperature',
  );
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [MODEL_NAME]);
});
