import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineGenerateRequest } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { RequestParams } from '../../proto/gen/m2/v1/RequestParams.ts';
import { EngineError } from '../../coordinator/engine/errors.ts';
import { prefixBlockHashes } from '../../coordinator/engine/block-hash.ts';
import { referenceTokens } from './fake-model.ts';
import { assertNoLeaks, collect, EOS, makeEngine, randomTokens, tokenText, VOCAB } from './helpers.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

function request(requestId: string, prompt: number[], params: RequestParams = {}): EngineGenerateRequest {
  return { requestId, promptTokenIds: prompt, params: { maxTokens: 16, ...params } };
}

const GREEDY = { temperature: 0, seed: 0, choiceIndex: 0 };
const IGNORE_EOS = { eosId: EOS, ignoreEos: true, vocabSize: VOCAB };
const STOP_AT_EOS = { eosId: EOS, ignoreEos: false, vocabSize: VOCAB };

test('one greedy request produces the model\'s own continuation, text and usage', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64 });
  const prompt = randomTokens(seededRandom(1), 21);
  const result = await collect(engine.generate(request('r1', prompt, { maxTokens: 24, ignoreEos: true })));
  const expected = referenceTokens(prompt, GREEDY, { maxTokens: 24, ...IGNORE_EOS });
  assert.deepEqual(result.choices[0].tokenIds, expected);
  assert.equal(result.choices[0].text, expected.map(tokenText).join(''));
  assert.equal(result.choices[0].finishReason, 'length');
  assert.deepEqual(result.usage, { promptTokens: 21, completionTokens: 24, cachedTokens: 0 });
  const final = result.messages[result.messages.length - 1];
  assert.ok(final.e2eSeconds >= final.ttftSeconds && final.ttftSeconds >= final.queueSeconds && final.queueSeconds >= 0);
  assertNoLeaks(engine);
  assert.deepEqual(model.released, [1]);
  await engine.close();
});

test('a long prompt chunked over several steps gives the same tokens as one shot', async () => {
  const prompt = randomTokens(seededRandom(2), 300);
  const outputs: number[][] = [];
  for (const budget of [2048, 64, 17]) {
    const { engine, model } = makeEngine({ numKvBlocks: 64, maxNumBatchedTokens: budget });
    const result = await collect(engine.generate(request('r', prompt, { maxTokens: 20, ignoreEos: true })));
    outputs.push(result.choices[0].tokenIds);
    const prefillSteps = model.steps.length - 19;
    assert.equal(prefillSteps, Math.ceil(300 / budget), `budget ${budget}: prefill steps`);
    assert.ok(model.steps.every((s) => s.numTokens <= budget));
    assertNoLeaks(engine);
    await engine.close();
  }
  assert.deepEqual(outputs[1], outputs[0]);
  assert.deepEqual(outputs[2], outputs[0]);
  assert.deepEqual(outputs[0], referenceTokens(prompt, GREEDY, { maxTokens: 20, ...IGNORE_EOS }));
});

test('a repeated prefix is served from the prefix cache: cached tokens reported, only new tokens run', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64 });
  const random = seededRandom(3);
  const system = randomTokens(random, 70);
  const first = await collect(engine.generate(request('a', [...system, ...randomTokens(random, 5)], { maxTokens: 3 })));
  assert.equal(first.usage?.cachedTokens, 0);
  const prompt = [...system, ...randomTokens(random, 9)];
  const second = await collect(engine.generate(request('b', prompt, { maxTokens: 4, ignoreEos: true })));
  assert.equal(second.usage?.cachedTokens, 64, 'four full blocks of 16 shared');
  const secondSeqId = 2;
  assert.equal(model.computedTokens(secondSeqId), prompt.length - 64 + 3, 'prefill ran only the uncached tail');
  assert.deepEqual(second.choices[0].tokenIds, referenceTokens(prompt, GREEDY, { maxTokens: 4, ...IGNORE_EOS }));
  const stats = engine.stats();
  assert.ok(stats.prefixCacheHitTokens >= 64);
  // The router can find this replica's cached prefix by hashing the prompt itself.
  const promptHashes = prefixBlockHashes(prompt, 16);
  assert.ok(promptHashes.slice(0, 4).every((h) => stats.cachedBlockHashes.includes(h)));
  assertNoLeaks(engine);
  await engine.close();
});

test('n choices share the prompt blocks and each matches its own seeded reference', async () => {
  const { engine, model } = makeEngine({ numKvBlocks: 64 });
  const prompt = randomTokens(seededRandom(4), 40);
  const sampling = { temperature: 0.8, seed: 777 };
  const result = await collect(engine.generate(request('n3', prompt, { n: 3, maxTokens: 12, ignoreEos: true, sampling })));
  assert.equal(result.choices.length, 3);
  for (let choice = 0; choice < 3; choice++) {
    const expected = referenceTokens(prompt, { ...sampling, choiceIndex: choice }, { maxTokens: 12, ...IGNORE_EOS });
    assert.deepEqual(result.choices[choice].tokenIds, expected, `choice ${choice}`);
  }
  assert.notDeepEqual(result.choices[0].tokenIds, result.choices[1].tokenIds, 'choices sample independently');
  // Choice 0 computed the prompt; choices 1 and 2 only its last partial block (40 - 32 tokens).
  assert.equal(model.computedTokens(1), 40 + 11);
  assert.equal(model.computedTokens(2), 8 + 11);
  assert.equal(model.computedTokens(3), 8 + 11);
  assert.deepEqual(result.usage, { promptTokens: 40, completionTokens: 36, cachedTokens: 0 });
  assertNoLeaks(engine);
  await engine.close();
});

test('seeded sampling: same seed same tokens; seed_unset draws one per request', async () => {
  const { engine } = makeEngine({ numKvBlocks: 64 });
  const prompt = randomTokens(seededRandom(5), 10);
  const params = { maxTokens: 10, ignoreEos: true, sampling: { temperature: 1, seed: 99 } };
  const a = await collect(engine.generate(request('a', prompt, params)));
  const b = await collect(engine.generate(request('b', prompt, params)));
  assert.deepEqual(a.choices[0].tokenIds, b.choices[0].tokenIds);
  // makeEngine draws 12345 for unseeded requests.
  const unset = await collect(engine.generate(request('c', prompt, { ...params, seedUnset: true })));
  const expected = referenceTokens(prompt, { temperature: 1, seed: 12345, choiceIndex: 0 }, { maxTokens: 10, ...IGNORE_EOS });
  assert.deepEqual(unset.choices[0].tokenIds, expected);
  await engine.close();
});

test('stop strings, stop ids, EOS and min_tokens end choices exactly', async () => {
  const { engine } = makeEngine({ numKvBlocks: 64 });
  const prompt = randomTokens(seededRandom(6), 12);
  const free = referenceTokens(prompt, GREEDY, { maxTokens: 40, ...STOP_AT_EOS });
  const freeRun = await collect(engine.generate(request('free', prompt, { maxTokens: 40 })));
  assert.deepEqual(freeRun.choices[0].tokenIds, free);
  // A stop string made of the text of output tokens 3..4 (spanning a token boundary).
  const text = free.map(tokenText);
  const stop = text[3].slice(-1) + text[4];
  const stopped = await collect(engine.generate(request('s', prompt, { maxTokens: 40, stop: [stop] })));
  const fullText = text.join('');
  assert.equal(stopped.choices[0].text, fullText.slice(0, fullText.indexOf(stop)));
  assert.equal(stopped.choices[0].stopReason, stop);
  assert.equal(stopped.choices[0].finishReason, 'stop');
  // A stop token id: the first output id that occurs, included in ids only.
  const stopId = free[5];
  const byId = await collect(engine.generate(request('i', prompt, { maxTokens: 40, stopTokenIds: [stopId] })));
  const cut = free.indexOf(stopId) + 1;
  assert.deepEqual(byId.choices[0].tokenIds, free.slice(0, cut));
  assert.equal(byId.choices[0].text, free.slice(0, cut - 1).map(tokenText).join(''));
  assert.equal(byId.choices[0].stopReason, String(stopId));
  // min_tokens bans the stop id until reached: the workers get it in banned_ids.
  const minRun = await collect(
    engine.generate(request('m', prompt, { maxTokens: 40, minTokens: cut + 2, stopTokenIds: [stopId] })),
  );
  assert.ok(minRun.choices[0].tokenIds.length >= cut + 2);
  assert.ok(!minRun.choices[0].tokenIds.slice(0, cut + 2).includes(stopId));
  assertNoLeaks(engine);
  await engine.close();
});

test('EOS ends a choice unless ignore_eos, which bans it', async () => {
  // Find a prompt whose greedy continuation hits EOS early.
  const random = seededRandom(7);
  let prompt: number[] = [];
  let natural: number[] = [];
  do {
    prompt = randomTokens(random, 6);
    natural = referenceTokens(prompt, GREEDY, { maxTokens: 30, ...STOP_AT_EOS });
  } while (natural[natural.length - 1] !== EOS);
  const { engine, model } = makeEngine({ numKvBlocks: 64 });
  const stopped = await collect(engine.generate(request('e', prompt, { maxTokens: 30 })));
  assert.deepEqual(stopped.choices[0].tokenIds, natural);
  assert.deepEqual([stopped.choices[0].finishReason, stopped.choices[0].stopReason], ['stop', '']);
  const ignoring = await collect(engine.generate(request('i', prompt, { maxTokens: 30, ignoreEos: true })));
  assert.equal(ignoring.choices[0].tokenIds.length, 30);
  assert.equal(ignoring.choices[0].finishReason, 'length');
  assert.ok(!ignoring.choices[0].tokenIds.includes(EOS));
  assert.ok(model.steps.length > 0);
  assertNoLeaks(engine);
  await engine.close();
});

test('bad requests are refused with clear errors and codes', async () => {
  const { engine } = makeEngine({ numKvBlocks: 8, blockSize: 16, maxModelLen: 100 });
  const expectError = (req: EngineGenerateRequest, code: string, pattern: RegExp) =>
    assert.throws(
      () => engine.generate(req),
      (error: unknown) => error instanceof EngineError && error.code === code && pattern.test(error.message),
    );
  const prompt = [1, 2, 3];
  expectError(request('x', new Array(90).fill(1), { maxTokens: 20 }), 'OUT_OF_RANGE', /maximum context length is 100 tokens.*110 tokens \(90 in the prompt, 20 for the completion\)/);
  expectError(request('x', new Array(100).fill(1)), 'OUT_OF_RANGE', /prompt has 100 tokens/);
  expectError(request('x', []), 'INVALID_ARGUMENT', /must not be empty/);
  expectError(request('x', [1, VOCAB]), 'INVALID_ARGUMENT', /token id 64 outside/);
  expectError(request('', prompt), 'INVALID_ARGUMENT', /request_id/);
  expectError(request('x', prompt, { maxTokens: 2, minTokens: 3 }), 'INVALID_ARGUMENT', /min_tokens/);
  expectError(request('x', prompt, { stop: [''] }), 'INVALID_ARGUMENT', /stop strings/);
  expectError(request('x', prompt, { n: 1000 }), 'INVALID_ARGUMENT', /n must be/);
  // max_tokens unset (0) means "up to the context length".
  const rest = await collect(engine.generate(request('fill', [1, 2, 3], { maxTokens: 0, ignoreEos: true })));
  assert.equal(rest.choices[0].tokenIds.length, 97);
  const live = engine.generate(request('dup', prompt));
  expectError(request('dup', prompt), 'ALREADY_EXISTS', /already running/);
  await collect(live);
  await engine.close();
  expectError(request('late', prompt), 'UNAVAILABLE', /shut down/);
});

test('engine config is validated', () => {
  assert.throws(() => makeEngine({ numKvBlocks: 4, blockSize: 16, maxModelLen: 65 }), /exceeds the KV cache/);
  assert.throws(() => makeEngine({ numKvBlocks: 0 }), /numKvBlocks must be a positive integer/);
  assert.throws(() => makeEngine({ numKvBlocks: 4, eosTokenIds: [VOCAB] }), /eos token id/);
});
