// GPU decode and prefill on the real M2 layer shape (make-model --preset m2-32b --layers N,
// bf16, generated locally) at TP = 1: decode step latency at batch 1 against the HBM bound
// (weight bytes one decoded token reads / the card's measured device copy bandwidth; target
// >= 70% of the bound), and prefill tok/s. Writes bench/results/gpu.json.
// Usage: npm run bench:gpu -- [--layers 8] [--prompt 512] [--decode 64] [--device 0] [--model DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gpuBackend, gpuCopyBandwidth } from '../kernels/gpu.ts';
import { runStep, type NativeModel } from '../kernels/model.ts';
import { makeModel } from '../worker/model/make-model.ts';
import { loadShard } from '../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../worker/shard/kv-block-allocator.ts';
import { median, quantile } from './stats.ts';

const TARGET_FRACTION = 0.7;
const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '8' },
    prompt: { type: 'string', default: '512' },
    decode: { type: 'string', default: '64' },
    device: { type: 'string', default: '0' },
    model: { type: 'string' },
  },
});
const layers = Number(values.layers), promptLen = Number(values.prompt), decodeSteps = Number(values.decode);
const device = Number(values.device);
const backend = gpuBackend();
if (!backend.built || backend.devices.length <= device) {
  console.error(`bench:gpu needs a CUDA build and a GPU (cuda:${device}): ${backend.error ?? `${backend.devices.length} device(s) visible`}`);
  console.error('build with: M2_BUILD_CUDA=1 npx node-gyp rebuild (README, "GPU")');
  process.exit(1);
}

const blockSize = 16, numBlocks = Math.ceil((promptLen + decodeSteps) / blockSize) + 1;
console.error(`bench:gpu: making/loading m2-32b with ${layers} layers (bf16) on cuda:${device} ${backend.devices[device]}`);
const dir = values.model ?? makeModel({ preset: 'm2-32b', layers });
const loadStart = performance.now();
const { model } = loadShard(dir, {
  limits: { threads: 1, maxTokens: promptLen, numBlocks, blockSize, maxModelLen: promptLen + decodeSteps },
  gpu: { device },
});
const loadSeconds = (performance.now() - loadStart) / 1000;

async function measure(m: NativeModel): Promise<{ prefillNs: number; decodeNs: number[] }> {
  const blocks = new KvBlockAllocator(numBlocks, blockSize);
  const table: number[] = [];
  blocks.ensure(table, promptLen + decodeSteps);
  const blockTable = Int32Array.from(table);
  const step = (from: number, tokens: Int32Array) =>
    runStep(m, {
      tokens,
      positions: Int32Array.from(tokens, (_, j) => from + j),
      slotMapping: Int32Array.from(tokens, (_, j) => blocks.slotOf(table, from + j)),
      sequences: [{ id: 1, numTokens: tokens.length, blockTable, outputRows: Int32Array.of(tokens.length - 1) }],
    });
  const prefill = await step(0, Int32Array.from({ length: promptLen }, (_, i) => (i * 7919) % 150000));
  let next = prefill.ids[0];
  const decodeNs: number[] = [];
  for (let i = 0; i < decodeSteps; ++i) {
    const r = await step(promptLen + i, Int32Array.of(next));
    decodeNs.push(r.forwardNs);
    next = r.ids[0];
  }
  m.releaseSequence(1);
  return { prefillNs: prefill.forwardNs, decodeNs };
}

await measure(model); // warm-up: cuBLAS heuristics, first-touch of the KV cache
const run = await measure(model);
const copyBytesPerS = gpuCopyBandwidth(device);
const weightBytes = model.weightBytesPerToken();
const decodeMs = median(run.decodeNs) / 1e6;
const boundMs = (weightBytes / copyBytesPerS) * 1e3;
const result = {
  device: backend.devices[device],
  model: `m2-32b, ${layers} layers, bf16, TP 1`,
  loadSeconds: +loadSeconds.toFixed(1),
  copyBandwidthGBs: +(copyBytesPerS / 1e9).toFixed(1),
  weightBytesPerToken: weightBytes,
  decodeStepMs: { median: +decodeMs.toFixed(3), p90: +(quantile(run.decodeNs, 0.9) / 1e6).toFixed(3) },
  decodeBoundMs: +boundMs.toFixed(3),
  fractionOfBound: +(boundMs / decodeMs).toFixed(3),
  meetsTarget: boundMs / decodeMs >= TARGET_FRACTION,
  decodeTokS: +(1000 / decodeMs).toFixed(1),
  prefill: { tokens: promptLen, tokS: +(promptLen / (run.prefillNs / 1e9)).toFixed(0) },
};
console.log(JSON.stringify(result, null, 2));
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'gpu.json'), JSON.stringify(result, null, 2) + '\n');
