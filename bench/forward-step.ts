// Prefill and decode throughput of the native forward pass at TP = 1 on a make-model preset
// (default `small`, the Qwen2.5-0.5B shape in bf16), for each thread count: one prompt of
// --prompt tokens in one step (prefill tok/s), then --decode single-token steps (decode tok/s,
// from the median step). Also prints the weight bytes one decoded token reads.
// Usage: node --import tsx bench/forward-step.ts [--preset small] [--dtype bfloat16|float16|float32]
//        [--threads 1,2] [--prompt 256] [--decode 32]
import { parseArgs } from 'node:util';
import { makeModel } from '../worker/model/make-model.ts';
import { isPresetName } from '../worker/model/presets.ts';
import { isFloatDtypeName } from '../worker/model/dtype.ts';
import { loadShard } from '../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../worker/shard/kv-block-allocator.ts';
import { runStep, type NativeModel } from '../kernels/model.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    dtype: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    prompt: { type: 'string', default: '256' },
    decode: { type: 'string', default: '32' },
  },
});
if (!isPresetName(values.preset)) throw new Error(`unknown preset ${values.preset}`);
const promptLen = Number(values.prompt), decodeSteps = Number(values.decode);
const blockSize = 16, numBlocks = Math.ceil((promptLen + decodeSteps) / blockSize) + 1;
if (values.dtype !== undefined && !isFloatDtypeName(values.dtype)) throw new Error(`unknown dtype ${values.dtype}`);
const dir = makeModel({ preset: values.preset, dtype: values.dtype });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(model: NativeModel): Promise<{ prefillTokS: number; decodeTokS: number; decodeMs: number }> {
  const blocks = new KvBlockAllocator(numBlocks, blockSize);
  const table: number[] = [];
  blocks.ensure(table, promptLen + decodeSteps);
  const blockTable = Int32Array.from(table);
  const prompt = Int32Array.from({ length: promptLen }, (_, i) => (i * 7919) % 150000);
  const step = (from: number, tokens: Int32Array) =>
    runStep(model, {
      tokens,
      positions: Int32Array.from(tokens, (_, j) => from + j),
      slotMapping: Int32Array.from(tokens, (_, j) => blocks.slotOf(table, from + j)),
      sequences: [{ id: 1, numTokens: tokens.length, blockTable, outputRows: Int32Array.of(tokens.length - 1) }],
    });
  const prefill = await step(0, prompt);
  let next = prefill.ids[0];
  const decodeNs: number[] = [];
  for (let i = 0; i < decodeSteps; ++i) {
    const r = await step(promptLen + i, Int32Array.of(next));
    decodeNs.push(r.forwardNs);
    next = r.ids[0];
  }
  model.releaseSequence(1);
  const decodeMs = median(decodeNs) / 1e6;
  return { prefillTokS: promptLen / (prefill.forwardNs / 1e9), decodeTokS: 1000 / decodeMs, decodeMs };
}

for (const threads of values.threads.split(',').map(Number)) {
  const { model } = loadShard(dir, { limits: { threads, maxTokens: promptLen, numBlocks, blockSize, maxModelLen: promptLen + decodeSteps } });
  await measure(model); // warm-up: page in the weights
  const r = await measure(model);
  console.log(JSON.stringify({
    preset: values.preset, dtype: values.dtype ?? 'preset', threads, promptTokens: promptLen,
    prefillTokS: +r.prefillTokS.toFixed(1), decodeTokS: +r.decodeTokS.toFixed(2), decodeStepMs: +r.decodeMs.toFixed(2),
    weightBytesPerToken: model.weightBytesPerToken(),
  }));
}
