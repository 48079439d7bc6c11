// `m2 serve` end to end, as a user runs it: the default model (tiny preset, TP 2) behind the real
// router, coordinator and worker processes, used through fetch, the `openai` npm client and
// gRPC. Greedy output equals `m2 generate`; thinking on/off splits reasoning from content; a
// repeated prompt reports cached tokens; bad input gets 400/404/413; a client that disconnects
// frees its KV blocks; SIGTERM drains and exits 0 leaving no process behind.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { loadGenerateProto } from '../../proto/load.ts';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import type { GenerateRequest } from '../../proto/gen/m2/v1/GenerateRequest.ts';
import type { GenerateResponse__Output } from '../../proto/gen/m2/v1/GenerateResponse.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { killTagged, newTag, processesTagged, runM2, waitFor } from '../cluster/tp-harness.ts';
import { coordinatorOf, coordinatorStats, startServe, type ServeProcess } from './serve-harness.ts';

const tag = newTag();
const KV = '16MiB';
const MAX_BODY = 64 * 1024;
const QUESTION = 'What is the capital of France? Answer in one word.';

let serve: ServeProcess;
let coordinator: CoordinatorServiceClient;
let openai: OpenAI;

before(async () => {
  // No --model: the embedded default (tiny, made on first run) at TP 2, like `npm start`.
  serve = await startServe(['--port', '0', '--grpc-port', '0', '--host', '127.0.0.1', '--kv-cache-memory', KV, '--max-body-bytes', String(MAX_BODY)], tag);
  coordinator = await coordinatorOf(serve);
  openai = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(() => {
  coordinator?.close();
  serve?.child.kill('SIGKILL');
  killTagged(tag);
});

interface ChatCompletion {
  choices: { message: { content: string | null; reasoning_content?: string | null }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens: number } };
}

function post(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${serve.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
}

async function chat(body: Record<string, unknown>): Promise<ChatCompletion> {
  const res = await post('/v1/chat/completions', body);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as ChatCompletion;
}

/** The data events of an SSE stream, [DONE] excluded (asserted last). */
async function sseEvents(res: Response): Promise<Record<string, unknown>[]> {
  const text = await res.text();
  const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
  assert.equal(data.at(-1), '[DONE]');
  return data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, unknown>);
}

const idle = (s: { numRunning: number; numWaiting: number; kvCacheUsage: number }): boolean =>
  s.numRunning === 0 && s.numWaiting === 0 && s.kvCacheUsage === 0;

async function coordinatorIdle(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (idle(await coordinatorStats(coordinator))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return idle(await coordinatorStats(coordinator));
}

test('the ready line names the HTTP and gRPC addresses and the default model', async () => {
  assert.match(serve.readyLine, /^m2 ready http=http:\/\/127\.0\.0\.1:\d+ grpc=127\.0\.0\.1:\d+ model=tiny-0$/);
  assert.equal((await fetch(`${serve.url}/health`)).status, 200);
  assert.equal((await fetch(`${serve.url}/ready`)).status, 200);
  const stats = await coordinatorStats(coordinator);
  assert.equal(stats.tpSize, 2);
  assert.equal(stats.model, 'tiny-0');
  assert.equal(stats.ready, true);
});

test('greedy chat over HTTP (whole and streamed) and gRPC equals m2 generate', async () => {
  const generated = await runM2(
    ['generate', '--model', makeModel({ preset: 'tiny' }), '--tp', '2', '--kv-cache-memory', KV, '--prompt', QUESTION, '--thinking', 'off', '--max-tokens', '16', '--json'],
    tag,
  );
  assert.equal(generated.code, 0, generated.stderr);
  const reference = JSON.parse(generated.stdout) as { token_ids: number[]; content: string; reasoning_content: string | null; finish_reason: string };

  const messages = [{ role: 'user', content: QUESTION }];
  const whole = await chat({ messages, max_tokens: 16, temperature: 0, thinking_mode: 'off' });
  assert.equal(whole.choices[0].message.content, reference.content);
  assert.equal(whole.choices[0].finish_reason, reference.finish_reason);
  assert.equal(whole.usage.completion_tokens, reference.token_ids.length);

  const streamed = await sseEvents(await post('/v1/chat/completions', { messages, max_tokens: 16, temperature: 0, thinking_mode: 'off', stream: true, stream_options: { include_usage: true } }));
  const deltas = streamed.flatMap((e) => (e.choices as { delta: { content?: string } }[]).map((c) => c.delta.content ?? ''));
  assert.ok(streamed.length > 2, `${streamed.length} events`);
  assert.equal(deltas.join(''), reference.content);
  assert.equal((streamed.at(-1)!.usage as { completion_tokens: number }).completion_tokens, reference.token_ids.length);

  const client = new (loadGenerateProto().m2.v1.GenerateService)(serve.grpcAddress, grpc.credentials.createInsecure());
  try {
    const request: GenerateRequest = { chat: { messages, thinkingMode: 'off' }, params: { temperature: 0, maxTokens: 16 } };
    const updates = await new Promise<GenerateResponse__Output[]>((resolve, reject) => {
      const out: GenerateResponse__Output[] = [];
      const call = client.Generate(request);
      call.on('data', (m: GenerateResponse__Output) => out.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
    const choices = updates.flatMap((m) => m.choices);
    assert.deepEqual(choices.flatMap((c) => c.tokenIds), reference.token_ids);
    assert.equal(choices.map((c) => c.content).join(''), reference.content);
    assert.ok(choices.every((c) => c.reasoningContent === ''));
  } finally {
    client.close();
  }
});

test('the openai client: thinking on gives reasoning only, thinking off content only (streamed); completions work', async () => {
  const messages = [{ role: 'user' as const, content: QUESTION }];
  const on = await openai.chat.completions.create({ model: 'tiny-0', messages, max_tokens: 12, temperature: 0, thinking_mode: 'on' } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const onMessage = on.choices[0].message as { content: string | null; reasoning_content?: string | null };
  // The random model never closes its think block: everything is reasoning.
  assert.ok((onMessage.reasoning_content ?? '').length > 0);
  assert.equal(onMessage.content ?? '', '');

  const stream = await openai.chat.completions.create({ model: 'tiny-0', messages, max_tokens: 12, temperature: 0, stream: true, thinking_mode: 'off' } as OpenAI.ChatCompletionCreateParamsStreaming);
  let content = '';
  let reasoning = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string | null } | undefined;
    content += delta?.content ?? '';
    reasoning += delta?.reasoning_content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.ok(content.length > 0);
  assert.equal(reasoning, '');
  assert.equal(finish, 'length');

  const completion = await openai.completions.create({ model: 'tiny-0', prompt: 'The capital of France is', max_tokens: 8, temperature: 0 });
  assert.equal(completion.choices[0].finish_reason, 'length');
  assert.equal(completion.usage?.completion_tokens, 8);
});

test('a repeated prompt reports cached tokens', async () => {
  const messages = [{ role: 'user', content: `${QUESTION} ${'Please think about the geography of Europe first. '.repeat(6)}` }];
  const first = await chat({ messages, max_tokens: 4, temperature: 0, thinking_mode: 'off' });
  const second = await chat({ messages, max_tokens: 4, temperature: 0, thinking_mode: 'off' });
  assert.ok(first.usage.prompt_tokens > 32);
  assert.equal(second.usage.prompt_tokens, first.usage.prompt_tokens);
  // Every full block of the prompt but the one holding its last token comes from the cache.
  assert.equal(second.usage.prompt_tokens_details?.cached_tokens, Math.floor((first.usage.prompt_tokens - 1) / 16) * 16);
});

test('bad input: malformed JSON 400, unknown model 404, too large 413, over the context 400; the KV cache stays idle', async () => {
  const malformed = await post('/v1/chat/completions', '{"messages": [');
  assert.equal(malformed.status, 400);
  const unknown = await post('/v1/chat/completions', { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'model_not_found');
  const large = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY * 2) }] });
  assert.equal(large.status, 413);
  const tooLong = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 10_000_000 });
  assert.equal(tooLong.status, 400);
  assert.equal(((await tooLong.json()) as { error: { code: string } }).error.code, 'context_length_exceeded');
  const badParam = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' });
  assert.equal(badParam.status, 400);
  // Still serving.
  assert.equal((await chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })).choices.length, 1);
  assert.ok(await coordinatorIdle(2000));
});

test('a client that disconnects mid-stream aborts its request: no running request or KV usage is left', async () => {
  const controller = new AbortController();
  const res = await post('/v1/chat/completions', { messages: [{ role: 'user', content: QUESTION }], max_tokens: 3000, ignore_eos: true, stream: true }, { signal: controller.signal });
  const reader = res.body!.getReader();
  await reader.read();
  const busy = await coordinatorStats(coordinator);
  assert.equal(busy.numRunning, 1);
  assert.ok(busy.kvCacheUsage > 0);
  controller.abort();
  assert.ok(await coordinatorIdle(3000), JSON.stringify(await coordinatorStats(coordinator)));
});

test('SIGTERM drains: the running stream finishes, new requests are refused, exit 0, no process left', async () => {
  const running = post('/v1/chat/completions', { messages: [{ role: 'user', content: QUESTION }], max_tokens: 150, ignore_eos: true, temperature: 0, thinking_mode: 'off' });
  await new Promise((r) => setTimeout(r, 100));
  serve.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  const refused = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'late' }] }).catch(() => null);
  if (refused) assert.equal(refused.status, 503);
  const res = await running;
  assert.equal(res.status, 200);
  const body = (await res.json()) as ChatCompletion;
  assert.equal(body.choices[0].finish_reason, 'length');
  assert.equal(body.usage.completion_tokens, 150);
  assert.equal(await serve.exited, '0', serve.stderr());
  assert.ok(await waitFor(() => processesTagged(tag).length === 0, 5000), `left: ${processesTagged(tag).join(', ')}`);
});
