// Every refusal the HTTP API promises, each with its status and OpenAI error body, plus client
// disconnect -> Abort upstream; after all of them the router still serves and holds no request.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { MODEL_NAME, post, postStream, startStack, waitFor, type JsonAnswer, type Stack } from './harness.ts';

let stack: Stack;
let deadAddress: string;
const chatUrl = () => `${stack.url}/v1/chat/completions`;
const messages = [{ role: 'user', content: 'hi' }];
const MAX_BODY = 16 * 1024;

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  deadAddress = `127.0.0.1:${await closedPort()}`;
  stack = await startStack({ maxBodyBytes: MAX_BODY });
});
after(async () => {
  await stack.close();
});

function assertError(res: JsonAnswer, status: number, code: string, param?: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  const err = res.body.error;
  assert.equal(typeof err.message, 'string');
  assert.equal(typeof err.type, 'string');
  assert.equal(err.code, code, JSON.stringify(res.body));
  if (param !== undefined) assert.equal(err.param, param, JSON.stringify(res.body));
}

test('malformed JSON is 400 invalid_json', async () => {
  assertError(await post(chatUrl(), '{"messages": [', {}), 400, 'invalid_json');
  assertError(await post(chatUrl(), '[1, 2]'), 400, 'invalid_body');
});

test('an unknown model is 404 model_not_found', async () => {
  assertError(await post(chatUrl(), { model: 'gpt-9', messages }), 404, 'model_not_found', 'model');
});

test('wrong-typed or out-of-range parameters are 400 naming the parameter', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ temperature: 'hot' }, 'temperature'],
    [{ temperature: -1 }, 'temperature'],
    [{ top_p: 0 }, 'top_p'],
    [{ top_k: 1.5 }, 'top_k'],
    [{ n: 0 }, 'n'],
    [{ max_tokens: '10' }, 'max_tokens'],
    [{ max_tokens: 5, min_tokens: 6 }, 'min_tokens'],
    [{ stop: [1] }, 'stop'],
    [{ stop_token_ids: [-1] }, 'stop_token_ids'],
    [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    [{ top_logprobs: 2 }, 'top_logprobs'],
    [{ logit_bias: { abc: 1 } }, 'logit_bias'],
    [{ logit_bias: { '5': 200 } }, 'logit_bias'],
    [{ seed: 1.5 }, 'seed'],
    [{ ignore_eos: 'yes' }, 'ignore_eos'],
    [{ stream: 1 }, 'stream'],
    [{ presence_penalty: 3 }, 'presence_penalty'],
    [{ thinking_mode: 'maybe' }, 'thinking_mode'],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [] }, 'messages'],
  ];
  for (const [fields, param] of cases) {
    const res = await post(chatUrl(), { messages, ...fields });
    assert.equal(res.status, 400, `${JSON.stringify(fields)} -> ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.param, param, JSON.stringify(fields));
    assert.equal(res.body.error.type, 'invalid_request_error');
    assert.ok(res.body.error.message.includes(param), res.body.error.message);
  }
});

test('a prompt over the context is 400 context_length_exceeded', async () => {
  stack.fake.stats = { ...stack.fake.stats, maxModelLen: 64 };
  await waitFor(() => stack.router.gateway.maxModelLen === 64, 3000, 'the router to see max_model_len 64');
  const requests = stack.fake.requests.length;
  const long = [{ role: 'user', content: 'word '.repeat(100) }];
  assertError(await post(chatUrl(), { messages: long }), 400, 'context_length_exceeded', 'messages');
  assertError(await post(chatUrl(), { messages, max_tokens: 60 }), 400, 'context_length_exceeded', 'max_tokens');
  assertError(await post(`${stack.url}/v1/completions`, { prompt: 'word '.repeat(100) }), 400, 'context_length_exceeded', 'prompt');
  assert.equal(stack.fake.requests.length, requests, 'refused before reaching the coordinator');
  stack.fake.stats = { ...stack.fake.stats, maxModelLen: 4096 };
  await waitFor(() => stack.router.gateway.maxModelLen === 4096);
});

test('a body over the size limit is 413', async () => {
  const big = { messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY) }] };
  assertError(await post(chatUrl(), big), 413, 'request_too_large');
  // Chunked upload (no content-length): counted while reading.
  const body = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(MAX_BODY / 2)));
      controller.close();
    },
  });
  const res = await fetch(chatUrl(), { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'request_too_large');
});

test('a full coordinator queue is 429 with Retry-After', async () => {
  stack.fake.mode = 'queue_full';
  try {
    const res = await post(chatUrl(), { messages });
    assertError(res, 429, 'queue_full');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const streamed = await postStream(chatUrl(), { messages, stream: true });
    assert.equal(streamed.status, 429, 'streaming requests fail before the event stream starts');
  } finally {
    stack.fake.mode = 'script';
  }
});

test('no ready coordinator is 503, and /ready says so', async () => {
  stack.fake.stats = { ...stack.fake.stats, ready: false };
  try {
    await waitFor(() => !stack.router.gateway.ready, 3000, 'the router to see the replica unready');
    assertError(await post(chatUrl(), { messages }), 503, 'no_ready_backend');
    assert.equal((await fetch(`${stack.url}/ready`)).status, 503);
    assert.equal((await fetch(`${stack.url}/health`)).status, 200, 'alive all the same');
  } finally {
    stack.fake.stats = { ...stack.fake.stats, ready: true };
  }
  await waitFor(() => stack.router.gateway.ready);
});

test('an unreachable coordinator is 503 and never hangs the request', async () => {
  const lonely = await startStack({ replicas: 0, extraCoordinators: [deadAddress] });
  try {
    const started = Date.now();
    assertError(await post(`${lonely.url}/v1/chat/completions`, { messages }), 503, 'no_ready_backend');
    assert.ok(Date.now() - started < 2000);
    assert.equal((await fetch(`${lonely.url}/ready`)).status, 503);
  } finally {
    await lonely.close();
  }
});

test('unknown routes are 404, wrong methods 405', async () => {
  assert.equal((await fetch(`${stack.url}/v2/chat`)).status, 404);
  assert.equal((await fetch(chatUrl())).status, 405);
});

test('a client that disconnects mid-stream gets its request aborted upstream', async () => {
  stack.fake.mode = 'hold';
  try {
    const controller = new AbortController();
    const res = await fetch(chatUrl(), {
      method: 'POST',
      body: JSON.stringify({ model: MODEL_NAME, messages, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.ok(first.startsWith('data: '));
    const id = stack.fake.lastRequest.requestId;
    controller.abort();
    await waitFor(() => stack.fake.aborts.includes(id) && stack.fake.cancelled.includes(id), 3000, 'Abort and cancellation at the coordinator');
    await waitFor(() => stack.router.gateway.inFlight === 0, 3000, 'the router to forget the request');
  } finally {
    stack.fake.mode = 'script';
  }
});

test('after every error above the router still serves and holds nothing', async () => {
  const res = await post(chatUrl(), { messages });
  assert.equal(res.status, 200);
  assert.equal(stack.router.gateway.inFlight, 0);
});
