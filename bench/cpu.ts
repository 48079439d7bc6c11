// `npm run bench`: m2 against llama.cpp on the same weights, precision, thread count and prompt,
// in one run (issue 9): prefill/decode tok/s and TTFT with m2/llama.cpp ratios, weight bytes per
// decoded token against the measured read bandwidth, TP=2 (1 thread per rank) vs TP=1 through
// the serving path, and the shm all-reduce latency (bench/allreduce.ts's runGroup). Prints a table and
// writes bench/results/cpu.json.
// Usage: npm run bench -- [--preset small | --model DIR] [--dtype bfloat16,float16] [--threads N]
//        [--prompt 512] [--decode 128] [--rounds 5] [--skip-tp] [--skip-allreduce]
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeModel } from '../worker/model/make-model.ts';
import { isPresetName } from '../worker/model/presets.ts';
import { loadModelConfig } from '../worker/model/config.ts';
import { exportGguf, type GgufFloatType } from '../worker/model/gguf-writer.ts';
import { cpuFeatures } from '../kernels/cpu-features.ts';
import { canPinRanks, runGroup, type Result as AllReduceResult } from './allreduce.ts';
import { median } from './stats.ts';
import { readBandwidthGBs } from './read-bandwidth.ts';
import { openLlamaCpp, openM2Native, runM2Replica, type EngineSession, type RunFigures, type RunSpec } from './cpu-engines.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    model: { type: 'string' },
    threads: { type: 'string', default: String(availableParallelism()) },
    prompt: { type: 'string', default: '512' },
    decode: { type: 'string', default: '128' },
    // Checkpoint dtypes compared head to head (a make-model variant per dtype; --model: its own).
    dtype: { type: 'string', default: 'bfloat16,float16' },
    // m2 and llama.cpp alternate this many times; medians are reported (shared, noisy machines).
    rounds: { type: 'string', default: '5' },
    'skip-tp': { type: 'boolean', default: false },
    'skip-allreduce': { type: 'boolean', default: false },
  },
});
const benchDir = dirname(fileURLToPath(import.meta.url));
const positiveInt = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const threads = positiveInt('threads', values.threads);
const spec: RunSpec = { prompt: [], decode: positiveInt('decode', values.decode), threads };
// A fixed pseudo-random prompt of raw ids: no tokenizer difference can enter the comparison.
spec.prompt = Array.from({ length: positiveInt('prompt', values.prompt) }, (_, i) => (i * 7919 + 13) % 150000);
const warmup: RunSpec = { prompt: spec.prompt.slice(0, 32), decode: 8, threads };
const rounds = positiveInt('rounds', values.rounds);

const preset = values.preset;
if (!values.model && !isPresetName(preset)) throw new Error(`unknown preset ${preset}`);
const DTYPES = ['bfloat16', 'float16', 'float32'] as const;
const dtypes = values.dtype.split(',').map((d) => {
  const dtype = DTYPES.find((x) => x === d);
  if (!dtype) throw new Error(`--dtype: one of ${DTYPES.join(', ')}, got ${d}`);
  return dtype;
});
const modelDirs = values.model ? [resolve(values.model)] : dtypes.map((dtype) => (isPresetName(preset) ? makeModel({ preset, dtype }) : ''));
const ggufType = { bfloat16: 'bf16', float16: 'f16', float32: 'f32' } as const;

/** The GGUF twin of the checkpoint, exported once and reused while the checkpoint is unchanged. */
function ggufOf(modelDir: string, precision: GgufFloatType): string {
  const path = join(tmpdir(), 'm2-bench', `${basename(modelDir)}-${precision}.gguf`);
  if (!existsSync(path) || statSync(path).mtimeMs < statSync(join(modelDir, 'config.json')).mtimeMs) {
    mkdirSync(dirname(path), { recursive: true });
    exportGguf(modelDir, path, precision);
  }
  return path;
}

/** shm all-reduce between 2 ranks (one per core where possible) for small's and M2's hidden sizes. */
async function allReduceLatency(): Promise<AllReduceResult[] | { error: string }> {
  try {
    return [await runGroup('shm', 2, 896, 3000, canPinRanks(2)), await runGroup('shm', 2, 5120, 3000, canPinRanks(2))];
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const ratio = (a: number, b: number): number => round(a / b, 3);
const shown = (f: RunFigures) => ({ ttft_s: round(f.ttftS, 4), prefill_tok_s: round(f.prefillTokS, 1), decode_tok_s: round(f.decodeTokS, 2), ...(f.decodeStepMs ? { decode_step_ms: round(f.decodeStepMs) } : {}) });
const row = (name: string, f: RunFigures, extra = ''): string =>
  `${name.padEnd(28)} ${f.prefillTokS.toFixed(1).padStart(9)} ${f.decodeTokS.toFixed(2).padStart(9)} ${(f.ttftS * 1000).toFixed(0).padStart(8)}  ${extra}`;

/**
 * Both sessions warm up, then alternate `rounds` runs each (the same machine load for both).
 * The read bandwidth is sampled before every round too: on a shared host it moves with the
 * neighbours' load, so the bound a decode is compared with must come from the same minutes.
 */
async function alternate(a: EngineSession, b: EngineSession): Promise<{ runs: [RunFigures[], RunFigures[]]; bandwidth: number[] }> {
  await a.run(warmup);
  await b.run(warmup);
  const runs: [RunFigures[], RunFigures[]] = [[], []];
  const bandwidth: number[] = [];
  for (let r = 0; r < rounds; ++r) {
    bandwidth.push(readBandwidthGBs(Math.min(threads, 2)));
    runs[0].push(await a.run(spec));
    runs[1].push(await b.run(spec));
  }
  return { runs, bandwidth };
}

/** Each figure's median over the runs. */
function medianFigures(runs: RunFigures[]): RunFigures {
  const mid = (pick: (f: RunFigures) => number | undefined): number | undefined => {
    const xs = runs.map(pick).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  return { ttftS: mid((f) => f.ttftS) ?? 0, prefillTokS: mid((f) => f.prefillTokS) ?? 0, decodeTokS: mid((f) => f.decodeTokS) ?? 0, decodeStepMs: mid((f) => f.decodeStepMs) };
}

const loadBefore = loadavg()[0];
// First, on a quiet process: later the comparisons' sessions hold GBs of weights and the TP
// replicas' exiting workers share the cores, and in-run p50s came out 3x the standalone ones.
const allReduce = values['skip-allreduce'] ? null : await allReduceLatency();
const bandwidth = { oneThread: readBandwidthGBs(1), twoThreads: readBandwidthGBs(2) };
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
const lines: string[] = [`${'engine'.padEnd(28)} ${'prefill/s'.padStart(9)} ${'decode/s'.padStart(9)} ${'TTFT ms'.padStart(8)}  notes`];
const comparisons = [];
for (const dir of modelDirs) {
  const config = loadModelConfig(dir);
  const precision = ggufType[config.torchDtype];
  const limits = { threads, maxPrompt: spec.prompt.length, maxLen: Math.max(spec.prompt.length + spec.decode, warmup.prompt.length + warmup.decode) };
  const m2Session = openM2Native(dir, limits);
  const llamaSession = await openLlamaCpp(ggufOf(dir, precision), limits);
  const { runs: [m2Runs, llamaRuns], bandwidth: samples } = await alternate(m2Session, llamaSession);
  await llamaSession.close();
  const m2 = { weightBytesPerToken: m2Session.weightBytesPerToken, figures: medianFigures(m2Runs) };
  const llama = { version: llamaSession.version, figures: medianFigures(llamaRuns) };
  const roundsBandwidth = median(samples);
  const boundTokS = (roundsBandwidth * 1e9) / m2.weightBytesPerToken;
  const c = {
    model: dir,
    precision,
    weight_bytes_per_token: m2.weightBytesPerToken,
    // Median of the read-bandwidth samples taken before each round (threads as the runs, max 2).
    read_bandwidth_gb_s: round(roundsBandwidth),
    read_bandwidth_samples_gb_s: samples.map((x) => round(x)),
    bandwidth_bound_tok_s: round(boundTokS),
    m2: { ...shown(m2.figures), fraction_of_bound: ratio(m2.figures.decodeTokS, boundTokS) },
    llama_cpp: { release: llama.version, ...shown(llama.figures), fraction_of_bound: ratio(llama.figures.decodeTokS, boundTokS) },
    ratio_m2_over_llama_cpp: {
      prefill: ratio(m2.figures.prefillTokS, llama.figures.prefillTokS),
      decode: ratio(m2.figures.decodeTokS, llama.figures.decodeTokS),
      ttft: ratio(m2.figures.ttftS, llama.figures.ttftS),
    },
  };
  comparisons.push(c);
  const r = c.ratio_m2_over_llama_cpp;
  lines.push(
    row(`m2 ${precision} (native)`, m2.figures, `decode ${Math.round(c.m2.fraction_of_bound * 100)}% of bound (${c.bandwidth_bound_tok_s} tok/s at ${c.read_bandwidth_gb_s} GB/s, median of the rounds)`),
    row(`llama.cpp ${precision} ${llama.version}`, llama.figures, `decode ${Math.round(c.llama_cpp.fraction_of_bound * 100)}% of bound`),
    `${`  m2/llama.cpp ${precision}`.padEnd(28)} ${`${r.prefill}x`.padStart(9)} ${`${r.decode}x`.padStart(9)} ${`${r.ttft}x`.padStart(8)}  (TTFT: lower is better)`,
  );
}
const tp = values['skip-tp'] ? null : { tp1: await runM2Replica(modelDirs[0], 1, spec, warmup), tp2: await runM2Replica(modelDirs[0], 2, spec, warmup) };
if (tp) {
  lines.push(row(`m2 replica TP=1 x${threads} threads`, tp.tp1), row('m2 replica TP=2 x1 thread', tp.tp2, `decode ${ratio(tp.tp2.decodeTokS, tp.tp1.decodeTokS)}x TP=1`));
}
if (allReduce && 'error' in allReduce) lines.push(`shm all-reduce: ${allReduce.error}`);
else for (const a of allReduce ?? []) lines.push(`shm all-reduce 2 ranks, ${a.floats} f32: p50 ${a.p50_us} us, p99 ${a.p99_us} us`);

const result = {
  date: new Date().toISOString(),
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  cpu,
  cpu_features: cpuFeatures(),
  cores: availableParallelism(),
  load_average_1m: { before: round(loadBefore), after: round(loadavg()[0]) },
  threads,
  prompt_tokens: spec.prompt.length,
  decode_tokens: spec.decode,
  rounds,
  read_bandwidth_gb_s: { one_thread: round(bandwidth.oneThread), two_threads: round(bandwidth.twoThreads) },
  comparisons,
  serving_path: tp && { model: modelDirs[0], tp1_threads_per_rank: threads, tp1: shown(tp.tp1), tp2_threads_per_rank: 1, tp2: shown(tp.tp2), decode_tp2_over_tp1: ratio(tp.tp2.decodeTokS, tp.tp1.decodeTokS) },
  shm_all_reduce_2_ranks: allReduce,
};
console.log(`${cpu}, ${result.cores} cores, ${threads} threads, prompt ${spec.prompt.length}, decode ${spec.decode}; load average ${result.load_average_1m.before} -> ${result.load_average_1m.after}`);
console.log(`read bandwidth ${result.read_bandwidth_gb_s.one_thread} GB/s (1 thread), ${result.read_bandwidth_gb_s.two_threads} GB/s (2 threads)`);
for (const line of lines) console.log(line);
const out = join(benchDir, 'results', 'cpu.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
