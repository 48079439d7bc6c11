// Batch invariance across processes: `m2 generate --prompts-file` runs 8 prompts of mixed
// lengths as one batch at TP=2 (with chunked prefill, as the step budget is small), and each
// prompt alone on a TP=2 replica must give exactly the same greedy ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Replica } from '../../coordinator/runtime/replica.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { GOLDEN_MODELS } from '../fixtures/golden/golden-models.ts';
import { killTagged, newTag, processesTagged, runM2, shmSegmentsOf } from './tp-harness.ts';

const MAX_TOKENS = 8;
const WORDS = ['the', 'patient', 'reports', 'fever', '发热', 'and', 'cough', 'for', 'three', 'days', 'blood', 'pressure', '120/80', 'mmHg', '头痛', 'no', 'allergies', 'known', '🙂', 'history'];

/** Seeded prompts from 2 to ~190 words, shuffled so lengths are mixed within the batch. */
function mixedPrompts(): string[] {
  let state = 12345;
  const next = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lengths = [2, 190, 9, 60, 25, 120, 4, 41];
  return lengths.map((n) => Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' '));
}

const tag = newTag();
process.env.M2_TEST_TAG = tag;

test('8 mixed-length prompts in one batch at TP=2 give the same greedy ids as each prompt alone', async () => {
  const dir = makeModel(GOLDEN_MODELS.tiny);
  const tmp = mkdtempSync(join(tmpdir(), 'm2-generate-batch-'));
  let replica: Replica | null = null;
  try {
    const prompts = mixedPrompts();
    const file = join(tmp, 'prompts.json');
    writeFileSync(file, JSON.stringify(prompts));
    const args = ['generate', '--model', dir, '--tp', '2', '--prompts-file', file, '--raw', '--max-tokens', String(MAX_TOKENS), '--ignore-eos', '--json'];
    const batch = await runM2([...args, '--max-num-batched-tokens', '64', '--kv-cache-memory', '16MiB'], tag);
    assert.equal(batch.code, 0, batch.stderr);
    assert.deepEqual(shmSegmentsOf(batch.pid), [], 'shm segments left by m2 generate');
    const out = JSON.parse(batch.stdout) as {
      results: { token_ids: number[]; text: string; reasoning_content: string | null; content: string; finish_reason: string; usage: { prompt_tokens: number }; timing: { prefill_tok_s: number; decode_tok_s: number } }[];
      timing: { load_s: number };
    };
    assert.equal(out.results.length, prompts.length);
    assert.ok(out.timing.load_s > 0, 'load seconds reported');
    for (const r of out.results) {
      assert.equal(r.finish_reason, 'length');
      assert.equal(typeof r.text, 'string');
      assert.equal(typeof r.content, 'string');
      assert.ok(r.reasoning_content === null || typeof r.reasoning_content === 'string');
      assert.ok(r.timing.prefill_tok_s > 0 && r.timing.decode_tok_s > 0, `timing ${JSON.stringify(r.timing)}`);
    }

    replica = await Replica.start({
      modelDir: dir,
      tp: 2,
      collective: 'shm',
      kvCacheMemory: '16MiB',
      blockSize: 16,
      maxNumSeqs: 8,
      maxNumBatchedTokens: 2048,
      threadsPerRank: 1,
      stepTimeoutMs: 30_000,
      loadTimeoutMs: 60_000,
      collectiveTimeoutMs: 10_000,
    });
    const tokenizer = replica.tokenizer;
    assert.ok(tokenizer, 'the tiny model ships tokenizer files');
    const lengths = prompts.map((p) => tokenizer.encode(p).length);
    assert.ok(Math.max(...lengths) > 64 && Math.min(...lengths) < 16, `prompt lengths ${lengths} should span chunked and short prefills`);
    for (const [i, prompt] of prompts.entries()) {
      const promptTokenIds = tokenizer.encode(prompt);
      assert.equal(out.results[i].usage.prompt_tokens, promptTokenIds.length, `prompt ${i}: same tokenization`);
      const alone: number[] = [];
      const stream = replica.engine.generate({
        requestId: `alone-${i}`,
        promptTokenIds,
        params: { sampling: { temperature: 0 }, n: 1, maxTokens: MAX_TOKENS, ignoreEos: true },
      });
      for await (const update of stream) for (const c of update.choices) alone.push(...c.tokenIds);
      assert.equal(alone.length, MAX_TOKENS);
      assert.deepEqual(out.results[i].token_ids, alone, `prompt ${i} (${promptTokenIds.length} tokens): batch vs alone`);
    }
  } finally {
    await replica?.close();
    rmSync(tmp, { recursive: true, force: true });
    const left = processesTagged(tag);
    killTagged(tag);
    assert.deepEqual(left, [], 'processes left behind');
    assert.deepEqual(shmSegmentsOf(process.pid), [], 'shm segments left behind');
  }
});
