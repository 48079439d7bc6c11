// Tensor parallelism on one CPU host, measured through the real path (Replica: `m2 worker`
// processes over gRPC, shm all-reduce between them): the `small` preset (Qwen2.5-0.5B shape,
// bf16) at TP=1 with 2 threads vs TP=2 with 1 thread per rank. Per layout: prefill and decode
// tok/s of one greedy request (best of --rounds after a warm-up), weight bytes each rank loaded
// and reads per step; then all-reduce p50/p99 for 896 (small) and 5120 (M2) floats through
// bench/allreduce.ts. Prints a table and writes bench/results/tp.json.
// Usage: npm run bench:tp [-- --prompt 256 --decode 64 --rounds 2 --iterations 3000]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Replica } from '../coordinator/runtime/replica.ts';
import { makeModel } from '../worker/model/make-model.ts';
import { canPinRanks, runGroup, type Result as AllReduceResult } from './allreduce.ts';

const { values } = parseArgs({
  options: {
    prompt: { type: 'string', default: '256' },
    decode: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
    iterations: { type: 'string', default: '3000' },
  },
});
const promptLen = Number(values.prompt);
const decodeTokens = Number(values.decode);
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);
for (const [name, n, min] of [['prompt', promptLen, 1], ['decode', decodeTokens, 2], ['rounds', rounds, 1], ['iterations', iterations, 100]] as const) {
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
}

interface LayoutResult {
  tp: number;
  threads_per_rank: number;
  load_s: number;
  weight_bytes_loaded_per_rank: number[];
  weight_bytes_per_step_per_rank: number[];
  prefill_tok_s: number;
  decode_tok_s: number;
  decode_ms_per_token: number;
}

interface RoundTiming {
  prefillTokS: number;
  decodeTokS: number;
}

/** One greedy request: prefill tok/s from the first token's arrival, decode tok/s between the first and last token. */
async function timeRequest(replica: Replica, id: string, prompt: number[], maxTokens: number): Promise<RoundTiming> {
  const started = performance.now();
  let first = 0;
  let last = 0;
  let tokens = 0;
  const stream = replica.engine.generate({ requestId: id, promptTokenIds: prompt, params: { sampling: { temperature: 0 }, n: 1, maxTokens, ignoreEos: true } });
  for await (const update of stream) {
    for (const c of update.choices) {
      if (c.tokenIds.length === 0) continue;
      if (tokens === 0) first = performance.now();
      tokens += c.tokenIds.length;
      last = performance.now();
    }
  }
  if (tokens !== maxTokens) throw new Error(`request ${id} produced ${tokens} of ${maxTokens} tokens`);
  return { prefillTokS: prompt.length / ((first - started) / 1000), decodeTokS: (tokens - 1) / ((last - first) / 1000) };
}

async function runLayout(modelDir: string, tp: number, threadsPerRank: number): Promise<LayoutResult> {
  const replica = await Replica.start({
    modelDir,
    tp,
    collective: 'shm',
    kvCacheMemory: '64MiB',
    blockSize: 16,
    maxNumSeqs: 4,
    maxNumBatchedTokens: Math.max(2048, promptLen),
    threadsPerRank,
    stepTimeoutMs: 120_000,
    loadTimeoutMs: 300_000,
    collectiveTimeoutMs: 10_000,
  });
  try {
    // A different prompt every round: a repeated one would be served by the prefix cache.
    const prompt = (round: number): number[] => Array.from({ length: promptLen }, (_, i) => (i * 7919 + round * 104_729 + 1) % 150_000);
    await timeRequest(replica, 'warm-up', prompt(rounds).slice(0, 32), 4); // pages in the weights
    let best: RoundTiming = { prefillTokS: 0, decodeTokS: 0 };
    for (let r = 0; r < rounds; r++) {
      const t = await timeRequest(replica, `round-${r}`, prompt(r), decodeTokens);
      best = { prefillTokS: Math.max(best.prefillTokS, t.prefillTokS), decodeTokS: Math.max(best.decodeTokS, t.decodeTokS) };
    }
    const round1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      tp,
      threads_per_rank: threadsPerRank,
      load_s: Math.round(replica.loadSeconds * 100) / 100,
      weight_bytes_loaded_per_rank: replica.group.shardInfo.map((s) => s.weightBytesLoaded),
      weight_bytes_per_step_per_rank: replica.group.shardInfo.map((s) => s.weightBytesPerStep),
      prefill_tok_s: round1(best.prefillTokS),
      decode_tok_s: round1(best.decodeTokS),
      decode_ms_per_token: Math.round((1000 / best.decodeTokS) * 100) / 100,
    };
  } finally {
    await replica.close();
  }
}

const modelDir = makeModel({ preset: 'small' });
const layouts: LayoutResult[] = [];
for (const [tp, threads] of [[1, 2], [2, 1]]) layouts.push(await runLayout(modelDir, tp, threads));
const allReduce: AllReduceResult[] = [];
for (const kind of ['shm', 'tcp'] as const) {
  for (const floats of [896, 5120]) allReduce.push(await runGroup(kind, 2, floats, iterations, canPinRanks(2)));
}

const cpus = availableParallelism();
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
const load = loadavg()[0];
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
console.log(`small preset (${modelDir}) through m2 worker processes on ${cpus} CPUs (${cpu}), 1-min load average ${load.toFixed(2)}`);
console.log(`prompt ${promptLen} tokens, ${decodeTokens} decoded tokens, best of ${rounds} rounds`);
console.log('tp  threads/rank  load s  prefill tok/s  decode tok/s  ms/token  MB loaded per rank   MB read per step per rank');
for (const l of layouts) {
  console.log(
    `${String(l.tp).padStart(2)}  ${String(l.threads_per_rank).padStart(12)}  ${l.load_s.toFixed(2).padStart(6)}  ${l.prefill_tok_s.toFixed(1).padStart(13)}  ${l.decode_tok_s.toFixed(1).padStart(12)}  ${l.decode_ms_per_token.toFixed(2).padStart(8)}  ${l.weight_bytes_loaded_per_rank.map(mb).join(' / ').padStart(18)}  ${l.weight_bytes_per_step_per_rank.map(mb).join(' / ').padStart(26)}`,
  );
}
console.log('all-reduce, 2 ranks (rank 0, back-to-back calls)');
console.log('kind  floats  pinned    p50 us    p99 us');
for (const r of allReduce) console.log(`${r.kind.padEnd(4)}  ${String(r.floats).padStart(6)}  ${String(r.pinned).padStart(6)}  ${r.p50_us.toFixed(2).padStart(8)}  ${r.p99_us.toFixed(2).padStart(8)}`);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'tp.json');
mkdirSync(dirname(out), { recursive: true });
const command = `npm run bench:tp -- --prompt ${promptLen} --decode ${decodeTokens} --rounds ${rounds} --iterations ${iterations}`;
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), cpus, cpu, loadAverage1m: load, command, model: modelDir, layouts, allReduce }, null, 2)}\n`);
console.log(`wrote ${out}`);
