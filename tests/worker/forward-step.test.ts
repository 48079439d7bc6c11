// The one-call forward step on the micro model: batch invariance, chunked prefill, seeded
// sampling, speculative verification rows, hidden-state capture and request validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeModel } from '../../worker/model/make-model.ts';
import { SafetensorsCheckpoint } from '../../worker/model/safetensors.ts';
import { loadShard } from '../../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../../worker/shard/kv-block-allocator.ts';
import { LocalGenerator, type GenerateRequest } from '../../worker/local-generate.ts';
import { createNativeModel, runStep, type NativeModel } from '../../kernels/model.ts';

const dir = makeModel({ preset: 'micro', seed: 1 });
const limits = { threads: 2, maxTokens: 96, numBlocks: 48, blockSize: 4, maxModelLen: 160 };
const prompts = [[5, 17, 300, 42, 9, 77, 1, 2, 3], [400, 12], [8, 8, 8, 100, 200, 311, 7, 19, 44, 45, 46, 47, 48]];

function load(threads = limits.threads, kvCacheDtype?: 'bf16' | 'f16'): { model: NativeModel; generator: LocalGenerator; blocks: KvBlockAllocator } {
  const { model } = loadShard(dir, { limits: { ...limits, threads, kvCacheDtype } });
  const blocks = new KvBlockAllocator(limits.numBlocks, limits.blockSize);
  return { model, generator: new LocalGenerator(model, blocks), blocks };
}

async function alone(requests: GenerateRequest[], threads?: number) {
  const out = [];
  for (const r of requests) out.push((await load(threads).generator.generate([r], { maxStepTokens: 96, returnPromptLogits: true }))[0]);
  return out;
}

test('greedy tokens and prompt logits are bit-identical alone and batched, with 1 or 3 threads', async () => {
  const requests = prompts.map((prompt) => ({ prompt, maxTokens: 10 }));
  const batched = await load(3).generator.generate(requests, { maxStepTokens: 96, returnPromptLogits: true });
  const single = await alone(requests, 1);
  assert.deepEqual(batched.map((r) => r.tokens), single.map((r) => r.tokens));
  batched.forEach((r, i) => assert.deepEqual(r.promptLogits, single[i].promptLogits));
  assert.deepEqual(batched.map((r) => r.logprobs), single.map((r) => r.logprobs));
  for (const r of batched) {
    const logits = r.promptLogits as Float32Array;
    const max = Math.max(...logits);
    const logSum = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
    assert.ok(Math.abs(r.logprobs[0] - (logits[r.tokens[0]] - logSum)) < 1e-5, 'logprob is the log-softmax of the raw logits');
    assert.equal(r.tokens[0], logits.indexOf(max), 'greedy picks the argmax');
  }
});

test('chunked prefill gives the same logits and tokens as one-shot prefill', async () => {
  const requests = prompts.map((prompt) => ({ prompt, maxTokens: 6 }));
  const oneShot = await alone(requests);
  for (const chunk of [1, 3, 5]) {
    const chunked = await load().generator.generate(requests, { maxStepTokens: 96, prefillChunk: chunk, returnPromptLogits: true });
    chunked.forEach((r, i) => {
      assert.deepEqual(r.promptLogits, oneShot[i].promptLogits, `chunk ${chunk}, prompt ${i}`);
      assert.deepEqual(r.tokens, oneShot[i].tokens);
    });
  }
});

test('a bf16 or f16 KV cache stays close to f32, is batch invariant and chunk invariant too', async () => {
  const requests = prompts.map((prompt) => ({ prompt, maxTokens: 6 }));
  const f32 = await alone(requests);
  for (const kv of ['bf16', 'f16'] as const) {
    const batched = await load(3, kv).generator.generate(requests, { maxStepTokens: 96, returnPromptLogits: true });
    const chunked = await load(1, kv).generator.generate(requests, { maxStepTokens: 96, prefillChunk: 3, returnPromptLogits: true });
    batched.forEach((r, i) => {
      const want = f32[i].promptLogits as Float32Array, got = r.promptLogits as Float32Array;
      const err = Math.max(...got.map((x, j) => Math.abs(x - want[j])));
      // Only the last prompt token's logits: K/V of the earlier ones went through the cache.
      // Logits here are up to ~18: bf16 keeps 8 significant bits, f16 11.
      assert.ok(err > 0 && err < (kv === 'bf16' ? 0.06 : 0.01), `${kv}, prompt ${i}: max |logit - f32 logit| = ${err}`);
      assert.deepEqual(r.promptLogits, chunked[i].promptLogits, `${kv}, prompt ${i}: chunked prefill`);
      assert.deepEqual(r.tokens, chunked[i].tokens);
    });
  }
});

test('seeded sampling (with penalties) gives the same tokens alone and batched; another seed differs', async () => {
  const sampling = { temperature: 0.9, topP: 0.95, topK: 50, seed: 1234, repetitionPenalty: 1.2, frequencyPenalty: 0.3 };
  const requests = prompts.map((prompt, i) => ({ prompt, maxTokens: 12, sampling: { ...sampling, choiceIndex: i } }));
  const batched = await load().generator.generate(requests, { maxStepTokens: 96 });
  const single = await alone(requests);
  assert.deepEqual(batched.map((r) => r.tokens), single.map((r) => r.tokens));
  const reseeded = await load().generator.generate(requests.map((r) => ({ ...r, sampling: { ...r.sampling, seed: 99 } })), { maxStepTokens: 96 });
  assert.notDeepEqual(reseeded.map((r) => r.tokens), batched.map((r) => r.tokens));
});

test('a verification step (k + 1 returned rows, causal or as a tree mask) reproduces greedy decoding', async () => {
  const prompt = prompts[0];
  const [reference] = await alone([{ prompt, maxTokens: 5 }]);
  const { model, blocks } = load();
  const table: number[] = [];
  blocks.ensure(table, prompt.length + 5);
  const rows = (from: number, ids: number[]) => ({
    tokens: Int32Array.from(ids),
    positions: Int32Array.from(ids, (_, j) => from + j),
    slotMapping: Int32Array.from(ids, (_, j) => blocks.slotOf(table, from + j)),
  });
  const prefill = await runStep(model, { ...rows(0, prompt), sequences: [{ id: 1, numTokens: prompt.length, blockTable: Int32Array.from(table), outputRows: Int32Array.of(prompt.length - 1) }] });
  assert.equal(prefill.ids[0], reference.tokens[0]);
  // Feed the first token plus three "drafts" (the true continuation): every row predicts the next.
  const drafts = reference.tokens.slice(0, 4);
  const seq = { id: 1, numTokens: 4, blockTable: Int32Array.from(table), outputRows: Int32Array.of(0, 1, 2, 3) };
  const verify = await runStep(model, { ...rows(prompt.length, drafts), sequences: [seq] });
  assert.deepEqual(Array.from(verify.ids), reference.tokens.slice(1, 5));
  const causal = Uint8Array.from({ length: 16 }, (_, k) => (k % 4 <= Math.floor(k / 4) ? 1 : 0));
  const tree = await runStep(model, { ...rows(prompt.length, drafts), positions: Int32Array.from(drafts, (_, j) => prompt.length + j), sequences: [{ ...seq, treeMask: causal }] });
  assert.deepEqual(tree.ids, verify.ids);
});

test('captured hidden states: layer 0 is the embedding, one block per requested layer', async () => {
  const { model } = load();
  const tokens = Int32Array.of(3, 77, 500);
  const result = await runStep(model, {
    tokens, positions: Int32Array.of(0, 1, 2), slotMapping: Int32Array.of(0, 1, 2),
    sequences: [{ id: 7, numTokens: 3, blockTable: Int32Array.of(0), outputRows: Int32Array.of(2), captureLayers: Int32Array.of(0, 2) }],
  });
  const hidden = 64;
  const captured = result.captured[0] as Float32Array;
  assert.equal(captured.length, 2 * 3 * hidden);
  const ckpt = SafetensorsCheckpoint.open(dir);
  const embed = new Float32Array(new Uint8Array(ckpt.readRows('model.embed_tokens.weight', 77, 78)).buffer);
  ckpt.close();
  assert.deepEqual(captured.slice(hidden, 2 * hidden), embed);
  assert.notDeepEqual(captured.slice(3 * hidden, 4 * hidden), captured.slice(0, hidden));
});

test('hidden states in (a later pipeline stage) give the same logits as the token ids they embed', async () => {
  const tokens = Int32Array.of(3, 77, 500, 12);
  const rows = { positions: Int32Array.of(0, 1, 2, 3), slotMapping: Int32Array.of(4, 5, 6, 7) };
  const seq = { id: 9, numTokens: 4, blockTable: Int32Array.of(1, 0), outputRows: Int32Array.of(1, 3), captureLayers: Int32Array.of(0) };
  const byTokens = await runStep(load().model, { tokens, ...rows, sequences: [seq], returnLogits: true });
  const embedded = byTokens.captured[0] as Float32Array;
  const byHidden = await runStep(load().model, { hiddenStates: embedded, ...rows, sequences: [seq], returnLogits: true });
  assert.deepEqual(byHidden.logits, byTokens.logits);
  assert.deepEqual(byHidden.ids, byTokens.ids);
});

test('malformed requests and models are clear errors', async () => {
  const { model } = load();
  const base = { tokens: Int32Array.of(1, 2), positions: Int32Array.of(0, 1), slotMapping: Int32Array.of(0, 1) };
  const seq = { id: 1, numTokens: 2, blockTable: Int32Array.of(0), outputRows: Int32Array.of(1) };
  const bad = (request: object, pattern: RegExp) =>
    assert.throws(() => runStep(model, { ...base, sequences: [seq], ...request }), (e: Error & { code?: string }) => pattern.test(e.message) && e.code === 'ERR_STEP_REQUEST');
  bad({ tokens: Int32Array.of(1, 512) }, /outside the vocabulary/);
  bad({ slotMapping: Int32Array.of(0, 4096) }, /outside the KV cache/);
  bad({ positions: Int32Array.of(5, 6) }, /block table has 1 blocks/);
  bad({ sequences: [{ ...seq, numTokens: 1, outputRows: Int32Array.of(0) }] }, /cover 1 of 2 rows/);
  bad({ sequences: [{ ...seq, outputRows: Int32Array.of(2) }] }, /output row outside/);
  bad({ positions: Int32Array.of(0, 2) }, /consecutive/);
  assert.throws(() => runStep(model, { ...base, sequences: [{ ...seq, sampling: { topP: 0 } }] }), { code: 'ERR_SAMPLING_PARAMS' });
  const late = { ...base, positions: Int32Array.of(4, 5), slotMapping: Int32Array.of(4, 5), sequences: [{ ...seq, id: 2, blockTable: Int32Array.of(0, 1), sampling: { repetitionPenalty: 1.3 } }] };
  await assert.rejects(runStep(model, late), { code: 'ERR_PENALTY_HISTORY' });
  const first = runStep(model, { ...base, sequences: [seq] });
  assert.throws(() => runStep(model, { ...base, sequences: [seq] }), { code: 'ERR_MODEL_BUSY' });
  await first;
  const empty = createNativeModel(loadShard(dir, { limits }).plan.shape, limits);
  assert.throws(() => empty.step({ ...base, sequences: [seq] }), { code: 'ERR_MODEL_INCOMPLETE' });
  assert.throws(() => empty.setTensor('model.norm.weight', new Uint8Array(12), 'f32', [3]), /expects \[64\]/);
  assert.throws(() => empty.setTensor('model.bogus', new Uint8Array(4), 'f32', [1]), /unexpected tensor/);
});
