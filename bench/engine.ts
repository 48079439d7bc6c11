// Continuous batching through the real engine path (Replica: worker process over gRPC): the
// `small` preset at TP 1 with 2 threads, B concurrent greedy requests (same prompt length,
// different prompts) for B = 1, 8, 32. Reports engine steps/s and output tok/s over the decode
// phase (after the last request's first token) and over the whole run. Prints a table and writes
// bench/results/engine.json.
// Usage: npm run bench:engine [-- --batches 1,8,32 --prompt 64 --output 64 --preset small]
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Replica } from '../coordinator/runtime/replica.ts';
import { makeModel } from '../worker/model/make-model.ts';
import { isPresetName } from '../worker/model/presets.ts';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,8,32' },
    prompt: { type: 'string', default: '64' },
    output: { type: 'string', default: '64' },
    preset: { type: 'string', default: 'small' },
    threads: { type: 'string', default: '2' },
  },
});
const batches = values.batches.split(',').map(Number);
const promptLen = Number(values.prompt);
const outputLen = Number(values.output);
if (!isPresetName(values.preset)) throw new Error(`--preset ${values.preset} is not a preset`);
if (!batches.every((b) => Number.isInteger(b) && b > 0) || !(promptLen > 0) || !(outputLen > 1)) throw new Error('bad --batches/--prompt/--output');

interface BatchResult {
  batch: number;
  wall_s: number;
  steps: number;
  steps_per_s: number;
  output_tok_s: number;
  decode_steps_per_s: number;
  decode_tok_s: number;
}

async function runBatch(replica: Replica, batch: number): Promise<BatchResult> {
  const stepsBefore = replica.engine.stats().numSteps;
  const started = performance.now();
  const firstTokenAt: number[] = [];
  let decodeStartSteps = 0;
  let outputTokens = 0;
  let tokensAfterDecodeStart = 0;
  let decodeStart = Infinity;
  await Promise.all(
    Array.from({ length: batch }, async (_, i) => {
      const prompt = Array.from({ length: promptLen }, (_, k) => 1000 + ((i * 7919 + k * 104729) % 100000));
      const stream = replica.engine.generate({ requestId: `b${batch}-${i}`, promptTokenIds: prompt, params: { sampling: { temperature: 0 }, n: 1, maxTokens: outputLen, ignoreEos: true } });
      for await (const update of stream) {
        const n = update.choices.reduce((s, c) => s + c.tokenIds.length, 0);
        if (n === 0) continue;
        outputTokens += n;
        if (performance.now() >= decodeStart) tokensAfterDecodeStart += n;
        if (firstTokenAt[i] === undefined) {
          firstTokenAt[i] = performance.now();
          if (firstTokenAt.filter((t) => t !== undefined).length === batch) {
            decodeStart = performance.now();
            decodeStartSteps = replica.engine.stats().numSteps;
          }
        }
      }
    }),
  );
  const ended = performance.now();
  const steps = replica.engine.stats().numSteps - stepsBefore;
  const wall = (ended - started) / 1000;
  const decodeWall = (ended - decodeStart) / 1000;
  const decodeSteps = replica.engine.stats().numSteps - decodeStartSteps;
  return {
    batch,
    wall_s: Number(wall.toFixed(2)),
    steps,
    steps_per_s: Number((steps / wall).toFixed(2)),
    output_tok_s: Number((outputTokens / wall).toFixed(1)),
    decode_steps_per_s: Number((decodeSteps / decodeWall).toFixed(2)),
    decode_tok_s: Number((tokensAfterDecodeStart / decodeWall).toFixed(1)),
  };
}

const modelDir = makeModel({ preset: values.preset });
const threads = Number(values.threads);
const maxBatch = Math.max(...batches);
const replica = await Replica.start({
  modelDir,
  tp: 1,
  collective: 'shm',
  kvCacheMemory: '2GiB',
  blockSize: 16,
  maxNumSeqs: Math.max(256, maxBatch),
  maxNumBatchedTokens: 2048,
  threadsPerRank: threads,
  stepTimeoutMs: 600_000,
  loadTimeoutMs: 600_000,
  collectiveTimeoutMs: 10_000,
});
const results: BatchResult[] = [];
try {
  await runBatch(replica, 1); // warm-up: first-touch of weights and KV pages
  for (const b of batches) results.push(await runBatch(replica, b));
} finally {
  await replica.close();
}
console.log(`engine on ${values.preset}, TP 1, ${threads} threads, prompt ${promptLen}, output ${outputLen}, load average ${loadavg()[0].toFixed(2)}`);
console.log('| batch | steps/s (decode) | tok/s (decode) | steps/s (whole run) | tok/s (whole run) | wall s |');
console.log('|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.batch} | ${r.decode_steps_per_s} | ${r.decode_tok_s} | ${r.steps_per_s} | ${r.output_tok_s} | ${r.wall_s} |`);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'engine.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ preset: values.preset, threads, prompt: promptLen, output: outputLen, load_average: loadavg(), results }, null, 2) + '\n');
