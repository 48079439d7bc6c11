// m2.v1.GenerateService with a real @grpc/grpc-js client: Generate stream (chat with reasoning
// split, text, token ids), Tokenize/Detokenize/ModelInfo, Abort, status codes for bad input,
// grpc.health.v1 following readiness, and reflection listing the services.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { loadGenerateProto } from '../../proto/load.ts';
import type { GenerateRequest } from '../../proto/gen/m2/v1/GenerateRequest.ts';
import type { GenerateResponse__Output } from '../../proto/gen/m2/v1/GenerateResponse.ts';
import type { GenerateServiceClient } from '../../proto/gen/m2/v1/GenerateService.ts';
import { MODEL_NAME, startStack, tinyTokenizer, waitFor, type Stack } from './harness.ts';

let stack: Stack;
let client: GenerateServiceClient;

before(async () => {
  stack = await startStack();
  client = new (loadGenerateProto().m2.v1.GenerateService)(stack.router.grpcAddress, grpc.credentials.createInsecure());
});
after(async () => {
  client.close();
  await stack.close();
});

function collect(request: GenerateRequest): Promise<GenerateResponse__Output[]> {
  return new Promise((resolve, reject) => {
    const out: GenerateResponse__Output[] = [];
    const call = client.Generate(request);
    call.on('data', (m: GenerateResponse__Output) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

function unary<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res!))));
}

async function grpcCode(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}

test('Generate with chat input streams reasoning, then content, then finish_reason and usage', async () => {
  stack.fake.outputText = 'Thinking hard.</think>\n\nFour.';
  const messages = await collect({ model: MODEL_NAME, chat: { messages: [{ role: 'user', content: '2+2?' }] }, sessionId: 's1', requestId: 'grpc-1' });
  assert.ok(messages.length > 2);
  assert.ok(messages.every((m) => m.requestId === 'grpc-1'));
  const updates = messages.flatMap((m) => m.choices);
  assert.equal(updates.map((u) => u.reasoningContent).join(''), 'Thinking hard.');
  assert.equal(updates.map((u) => u.content).join(''), 'Four.');
  assert.equal(updates.at(-1)!.finishReason, 'stop');
  assert.deepEqual(updates.flatMap((u) => u.tokenIds), [...tinyTokenizer().encode('Thinking hard.</think>\n\nFour.'), 151645]);
  const usage = messages.at(-1)!.usage!;
  assert.equal(usage.promptTokens, stack.fake.lastRequest.promptTokenIds.length);
  assert.equal(usage.cachedTokens, stack.fake.cachedTokens);
  assert.equal(stack.fake.lastRequest.sessionId, 's1');
  assert.equal(stack.fake.lastRequest.requestId, 'grpc-1');
});

test('Generate: thinking_mode "false" gives content only; params and logprobs map like HTTP', async () => {
  stack.fake.outputText = 'Direct.';
  const messages = await collect({
    chat: { messages: [{ role: 'user', content: 'hi' }], thinkingMode: 'false' },
    params: { temperature: 0, maxTokens: 2, n: 2, logprobs: true, topLogprobs: 2, stop: ['x'], seed: 7 },
  });
  const updates = messages.flatMap((m) => m.choices);
  assert.ok(updates.every((u) => u.reasoningContent === ''));
  assert.deepEqual([...new Set(updates.map((u) => u.index))], [0, 1]);
  const first = updates.find((u) => u.index === 0 && u.logprobs.length > 0)!;
  assert.equal(first.logprobs[0]!.token, 'Direct');
  assert.equal(first.logprobs[0]!.topLogprobs.length, 2);
  const p = stack.fake.lastRequest.params!;
  assert.equal(p.sampling!.temperature, 0);
  assert.equal(p.sampling!.seed, 7);
  assert.equal(p.maxTokens, 2);
  assert.deepEqual(p.stop, ['x']);
  assert.deepEqual(p.sampling!.bannedIds, [151667]);
  assert.equal(updates.filter((u) => u.finishReason === 'length').length, 2);
});

test('Generate with text or token ids: no template, all content', async () => {
  stack.fake.outputText = 'a</think>b';
  const byText = await collect({ text: 'raw prompt' });
  assert.deepEqual(stack.fake.lastRequest.promptTokenIds, tinyTokenizer().encode('raw prompt'));
  assert.equal(byText.flatMap((m) => m.choices).map((u) => u.content).join(''), 'a</think>b');
  await collect({ tokenIds: { ids: [5, 6, 7] } });
  assert.deepEqual(stack.fake.lastRequest.promptTokenIds, [5, 6, 7]);
});

test('bad input gets INVALID_ARGUMENT, an unknown model NOT_FOUND, a full queue RESOURCE_EXHAUSTED', async () => {
  let r = await grpcCode(collect({ text: 'x', params: { topP: 1.5 } }));
  assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
  assert.match(r.details, /top_p/);
  r = await grpcCode(collect({ chat: { messages: [{ role: 'user', content: 'x' }], thinkingMode: 'sometimes' } }));
  assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
  r = await grpcCode(collect({}));
  assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
  r = await grpcCode(collect({ tokenIds: { ids: [999999] } }));
  assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
  r = await grpcCode(collect({ model: 'other', text: 'x' }));
  assert.equal(r.code, grpc.status.NOT_FOUND);
  stack.fake.mode = 'queue_full';
  try {
    r = await grpcCode(collect({ text: 'x' }));
    assert.equal(r.code, grpc.status.RESOURCE_EXHAUSTED);
  } finally {
    stack.fake.mode = 'script';
  }
});

test('Tokenize, Detokenize and ModelInfo', async () => {
  const tok = await unary(client.Tokenize, { text: 'Hello world' });
  assert.deepEqual(tok.tokenIds, tinyTokenizer().encode('Hello world'));
  const chat = await unary(client.Tokenize, { chat: { messages: [{ role: 'user', content: 'hi' }], thinkingMode: 'off' } });
  assert.ok(chat.text.endsWith('<think>\n\n</think>\n\n'));
  assert.deepEqual(chat.tokenIds, tinyTokenizer().encode(chat.text, { addSpecialTokens: false }));
  const detok = await unary(client.Detokenize, { tokenIds: [...tok.tokenIds, 151645], skipSpecialTokens: true });
  assert.equal(detok.text, 'Hello world');
  const info = await unary(client.ModelInfo, {});
  assert.equal(info.model, MODEL_NAME);
  assert.equal(info.maxModelLen, 4096);
  assert.equal(info.vocabSize, 152064);
  assert.equal(info.replicas, 1);
  assert.equal(info.dtype, 'f32');
  const bad = await grpcCode(unary(client.Detokenize, { tokenIds: [-1] }));
  assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
});

test('Abort ends a running Generate with finish_reason "abort"; cancelling aborts upstream', async () => {
  stack.fake.mode = 'hold';
  try {
    const done = collect({ text: 'x', requestId: 'to-abort' });
    await waitFor(() => stack.fake.requests.some((r) => r.requestId === 'to-abort'));
    const res = await unary(client.Abort, { requestId: 'to-abort' });
    assert.equal(res.found, true);
    const updates = (await done).flatMap((m) => m.choices);
    assert.equal(updates.at(-1)!.finishReason, 'abort');
    assert.ok(stack.fake.aborts.includes('to-abort'));
    assert.equal((await unary(client.Abort, { requestId: 'to-abort' })).found, false);

    const call = client.Generate({ text: 'y', requestId: 'to-cancel' });
    call.on('error', () => {});
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    await waitFor(() => stack.fake.cancelled.includes('to-cancel') && stack.fake.aborts.includes('to-cancel'), 3000, 'cancellation upstream');
  } finally {
    stack.fake.mode = 'script';
  }
});

test('grpc.health.v1 follows readiness', async () => {
  const healthPkg = grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & { check: (req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void } } } };
  };
  const health = new healthPkg.grpc.health.v1.Health(stack.router.grpcAddress, grpc.credentials.createInsecure());
  const check = (service: string) => new Promise<string>((resolve, reject) => health.check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))));
  try {
    assert.equal(await check(''), 'SERVING');
    assert.equal(await check('m2.v1.GenerateService'), 'SERVING');
    stack.fake.stats = { ...stack.fake.stats, ready: false };
    const until = Date.now() + 3000;
    while ((await check('')) !== 'NOT_SERVING') {
      assert.ok(Date.now() < until, 'health never turned NOT_SERVING');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    stack.fake.stats = { ...stack.fake.stats, ready: true };
    health.close();
  }
});

test('reflection lists GenerateService and Health', async () => {
  const reflectionProto = createRequire(import.meta.url).resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { includeDirs: [dirname(reflectionProto)] })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo: () => grpc.ClientDuplexStream<object, { listServicesResponse?: { service: Array<{ name: string }> } }> } } } };
  };
  const reflection = new pkg.grpc.reflection.v1.ServerReflection(stack.router.grpcAddress, grpc.credentials.createInsecure());
  try {
    const names = await new Promise<string[]>((resolve, reject) => {
      const call = reflection.ServerReflectionInfo();
      call.on('data', (res: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
        resolve(res.listServicesResponse!.service.map((service) => service.name));
        call.end();
      });
      call.on('error', reject);
      call.write({ listServices: '' });
    });
    assert.ok(names.includes('m2.v1.GenerateService'), names.join());
    assert.ok(names.includes('grpc.health.v1.Health'), names.join());
  } finally {
    reflection.close();
  }
});
