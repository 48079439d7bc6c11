// Prefill and decode throughput of the native forward pass at TP = 1 on a make-model preset
// (default `small`, the Qwen2.5-0.5B shape in bf16), for each thread count: one prompt of
// --prompt tokens in one step (prefill tok/s), then --decode single-token steps (decode tok/s,
// from the median step). Also prints the weight bytes one decoded token reads. `--batch N` runs N
// such sequences together (N prompts in one step, then N-token decode steps): the engine-free
// view of what bench:serve's N-stream level asks of the forward pass. The KV cache takes
// --kv-cache-dtype as `m2 serve` does (auto: the checkpoint's dtype).
// Usage: node --import tsx bench/forward-step.ts [--preset small] [--dtype bfloat16|float16|float32]
//        [--threads 1,2] [--prompt 256] [--decode 32] [--batch 1] [--kv-cache-dtype auto]
import { parseArgs } from 'node:util';
import { makeModel } from '../worker/model/make-model.ts';
import { isPresetName } from '../worker/model/presets.ts';
import { isFloatDtypeName } from '../worker/model/dtype.ts';
import { loadShard } from '../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../worker/shard/kv-block-allocator.ts';
import { runStep, type NativeModel } from '../kernels/model.ts';
import { median } from './stats.ts';
import { KV_CACHE_DTYPE_OPTIONS, resolveKvCacheDtype, type KvCacheDtypeOption } from '../coordinator/runtime/kv-sizing.ts';
import { loadModelConfig } from '../worker/model/config.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    dtype: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    prompt: { type: 'string', default: '256' },
    decode: { type: 'string', default: '32' },
    batch: { type: 'string', default: '1' },
    'kv-cache-dtype': { type: 'string', default: 'auto' },
  },
});
if (!isPresetName(values.preset)) throw new Error(`unknown preset ${values.preset}`);
const promptLen = Number(values.prompt), decodeSteps = Number(values.decode), batch = Number(values.batch);
if (!Number.isSafeInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${values.batch}`);
const blockSize = 16, numBlocks = batch * (Math.ceil((promptLen + decodeSteps) / blockSize) + 1);
if (values.dtype !== undefined && !isFloatDtypeName(values.dtype)) throw new Error(`unknown dtype ${values.dtype}`);
const dir = makeModel({ preset: values.preset, dtype: values.dtype });
const kvOption = values['kv-cache-dtype'] as KvCacheDtypeOption;
if (!KV_CACHE_DTYPE_OPTIONS.includes(kvOption)) throw new Error(`--kv-cache-dtype must be one of ${KV_CACHE_DTYPE_OPTIONS.join(', ')}`);
const kvCacheDtype = resolveKvCacheDtype(kvOption, loadModelConfig(dir), 'cpu');

async function measure(model: NativeModel): Promise<{ prefillTokS: number; decodeTokS: number; decodeMs: number }> {
  const blocks = new KvBlockAllocator(numBlocks, blockSize);
  const seqs = Array.from({ length: batch }, (_, s) => {
    const table: number[] = [];
    blocks.ensure(table, promptLen + decodeSteps);
    return { id: s + 1, table, blockTable: Int32Array.from(table) };
  });
  // Per sequence, the tokens it feeds this step from position `from`.
  const step = (from: number, tokens: Int32Array[]) => {
    const all = tokens.flatMap((t) => [...t]);
    return runStep(model, {
      tokens: Int32Array.from(all),
      positions: Int32Array.from(tokens.flatMap((t) => Array.from(t, (_, j) => from + j))),
      slotMapping: Int32Array.from(seqs.flatMap((s, i) => Array.from(tokens[i], (_, j) => blocks.slotOf(s.table, from + j)))),
      sequences: seqs.map((s, i) => ({ id: s.id, numTokens: tokens[i].length, blockTable: s.blockTable, outputRows: Int32Array.of(tokens[i].length - 1) })),
    });
  };
  const prompts = seqs.map((_, s) => Int32Array.from({ length: promptLen }, (_, i) => (i * 7919 + s * 104729) % 150000));
  const prefill = await step(0, prompts);
  let next = [...prefill.ids];
  const decodeNs: number[] = [];
  for (let i = 0; i < decodeSteps; ++i) {
    const r = await step(promptLen + i, next.map((id) => Int32Array.of(id)));
    decodeNs.push(r.forwardNs);
    next = [...r.ids];
  }
  for (const s of seqs) model.releaseSequence(s.id);
  const decodeMs = median(decodeNs) / 1e6;
  return { prefillTokS: (batch * promptLen) / (prefill.forwardNs / 1e9), decodeTokS: (batch * 1000) / decodeMs, decodeMs };
}

for (const threads of values.threads.split(',').map(Number)) {
  const { model } = loadShard(dir, { limits: { threads, maxTokens: batch * promptLen, numBlocks, blockSize, maxModelLen: promptLen + decodeSteps, kvCacheDtype } });
  await measure(model); // warm-up: page in the weights
  const r = await measure(model);
  console.log(JSON.stringify({
    preset: values.preset, dtype: values.dtype ?? 'preset', kvCacheDtype, threads, batch, promptTokens: promptLen,
    prefillTokS: +r.prefillTokS.toFixed(1), decodeTokS: +r.decodeTokS.toFixed(2), decodeStepMs: +r.decodeMs.toFixed(2),
    weightBytesPerToken: model.weightBytesPerToken(),
  }));
}
