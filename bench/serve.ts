// Serving throughput and latency as clients see them: for each concurrency level (default 1, 4,
// 16, 64) that many concurrent streams each send --rounds streamed requests back to back against
// a running server (--url) or one started here (`m2 serve` on --preset). Prints TTFT and
// inter-token latency p50/p99 and output tok/s per level, and writes JSON to bench/results/.
// Workloads (bench/serve-workload.ts): `--mix fixed` (exact prompt/output token counts) or
// `--mix realistic` (long medical cases, multi-turn sessions with session ids). Never gates CI.
// `--passes N` runs the whole level list N times in turn (1, 4, 16, 64, 1, 4, ...) and reports,
// per level, the pass with the median output tok/s: on a shared host the speed drifts by minutes,
// and alternating gives every level the same drift.
// Usage: npm run bench:serve -- [--url http://HOST:PORT | --preset small --tp 1 --replicas 1]
//        [--concurrency 1,4,16,64] [--mix fixed|realistic] [--prompt 128] [--output 64] [--rounds 1]
//        [--passes 1] [--kv-cache-memory 1GiB] [--kv-cache-dtype auto] [--skip-roofline]
// With a server it started and the fixed mix, it then measures the idle host's GEMM rate and read
// bandwidth and prints each level's ceiling (bench/serve-roofline.ts) next to what it got.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelConfig, type ModelConfig } from '../worker/model/config.ts';
import { makeModel } from '../worker/model/make-model.ts';
import { isPresetName } from '../worker/model/presets.ts';
import { fixedRequest, realisticSession, timedRequest, type BenchRequest, type RequestTiming } from './serve-workload.ts';
import { medianBy, quantile } from './stats.ts';
import { measureRoofline, type Roofline } from './serve-roofline.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    preset: { type: 'string', default: 'small' },
    tp: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '1' },
    'kv-cache-memory': { type: 'string', default: '1GiB' },
    'kv-cache-dtype': { type: 'string', default: 'auto' },
    concurrency: { type: 'string', default: '1,4,16,64' },
    mix: { type: 'string', default: 'fixed' },
    prompt: { type: 'string', default: '128' },
    output: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '1' },
    passes: { type: 'string', default: '1' },
    turns: { type: 'string', default: '3' },
    out: { type: 'string' },
    'skip-roofline': { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
const levels = values.concurrency.split(',').map((c) => positiveInt('concurrency', c.trim()));
const promptTokens = positiveInt('prompt', values.prompt);
const outputTokens = positiveInt('output', values.output);
const rounds = positiveInt('rounds', values.rounds);
const passes = positiveInt('passes', values.passes);
const turns = positiveInt('turns', values.turns);
if (values.mix !== 'fixed' && values.mix !== 'realistic') throw new Error(`--mix must be fixed or realistic, got ${values.mix}`);
const mix = values.mix;

interface Server {
  url: string;
  vocab: number;
  /** The model's config when this bench started the server (the host is then known too). */
  config?: ModelConfig;
  describe: string;
  stop(): Promise<void>;
}

/** `m2 serve` on a preset, in its own process (so its CPU time is not this client's). */
async function startServer(): Promise<Server> {
  if (!isPresetName(values.preset)) throw new Error(`unknown preset ${values.preset}`);
  const modelDir = makeModel({ preset: values.preset });
  const args = ['serve', '--model', modelDir, '--tp', values.tp, '--replicas', values.replicas, '--kv-cache-memory', values['kv-cache-memory'], '--kv-cache-dtype', values['kv-cache-dtype'], '--port', '0', '--grpc-port', '0', '--host', '127.0.0.1'];
  const m2 = fileURLToPath(new URL('../bin/m2.js', import.meta.url));
  const child = spawn(process.execPath, [m2, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^m2 ready .*http=(\S+)/m.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error('m2 serve exited before it was ready')));
  });
  const config = loadModelConfig(modelDir);
  return {
    url,
    vocab: config.vocabSize,
    config,
    describe: `m2 ${args.slice(0, 11).join(' ')}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function attach(url: string): Promise<Server> {
  const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
  // Token-id prompts stay inside every Qwen vocabulary; the fixed mix only needs an upper bound.
  return { url, vocab: 151_000, describe: `${url} (${models.data[0]?.id ?? 'unknown model'})`, stop: async () => {} };
}

interface LevelResult {
  concurrency: number;
  requests: number;
  errors: number;
  first_error?: string;
  wall_s: number;
  ttft_p50_s: number;
  ttft_p99_s: number;
  itl_p50_s: number;
  itl_p99_s: number;
  output_tok_s: number;
  prompt_tokens: number;
  cached_prompt_tokens: number;
  /** Output tok/s of every pass of this level, in run order (the row shown is their median pass). */
  passes_output_tok_s?: number[];
}

/**
 * One stream: its requests back to back (a realistic stream is one session of --turns turns).
 * Prompts differ per pass too, so a later pass never finds an earlier pass's prompt cached.
 */
async function runStream(server: Server, stream: number, level: number, pass: number): Promise<RequestTiming[]> {
  const timings: RequestTiming[] = [];
  const seed = pass * 1_000_000 + level * 1000;
  for (let round = 0; round < rounds; round++) {
    if (mix === 'fixed') {
      timings.push(await timedRequest(server.url, fixedRequest(seed + stream, round, promptTokens, outputTokens, server.vocab)));
      continue;
    }
    const session = realisticSession(seed + stream * 10 + round, turns);
    let answer = '';
    for (let turn = 0; turn < turns; turn++) {
      const req: BenchRequest = session(turn, answer);
      const t = await timedRequest(server.url, req);
      timings.push(t);
      if (!t.ok) break;
      answer = t.text;
    }
  }
  return timings;
}

async function runLevel(server: Server, concurrency: number, pass: number): Promise<LevelResult> {
  const started = performance.now();
  const all = (await Promise.all(Array.from({ length: concurrency }, (_, s) => runStream(server, s, concurrency, pass)))).flat();
  const wall = (performance.now() - started) / 1000;
  const ok = all.filter((t) => t.ok);
  const failed = all.find((t) => !t.ok);
  return {
    concurrency,
    requests: all.length,
    errors: all.length - ok.length,
    ...(failed ? { first_error: failed.error } : {}),
    wall_s: wall,
    ttft_p50_s: quantile(ok.map((t) => t.ttftS), 0.5),
    ttft_p99_s: quantile(ok.map((t) => t.ttftS), 0.99),
    itl_p50_s: quantile(ok.flatMap((t) => t.itlS), 0.5),
    itl_p99_s: quantile(ok.flatMap((t) => t.itlS), 0.99),
    output_tok_s: ok.reduce((s, t) => s + t.completionTokens, 0) / wall,
    prompt_tokens: ok.reduce((s, t) => s + t.promptTokens, 0),
    cached_prompt_tokens: ok.reduce((s, t) => s + t.cachedTokens, 0),
  };
}

const server = values.url ? await attach(values.url.replace(/\/$/, '')) : await startServer();
const runs = new Map<number, LevelResult[]>(levels.map((level) => [level, []]));
try {
  // One short request first: the first step of a fresh server pays one-off costs.
  await timedRequest(server.url, fixedRequest(999_999, 0, 16, 4, server.vocab));
  for (let pass = 0; pass < passes; pass++) {
    for (const level of levels) {
      const r = await runLevel(server, level, pass);
      runs.get(level)!.push(r);
      console.error(`pass ${pass + 1}/${passes}, concurrency ${level}: ${r.requests} requests in ${r.wall_s.toFixed(1)} s, ${r.errors} errors, ${r.output_tok_s.toFixed(1)} output tok/s`);
    }
  }
} finally {
  await server.stop();
}
const results: LevelResult[] = [...runs.values()].map((passRuns) => {
  const median = medianBy(passRuns, (r) => r.output_tok_s);
  return passes > 1 ? { ...median, passes_output_tok_s: passRuns.map((r) => Number(r.output_tok_s.toFixed(1))) } : median;
});

const ms = (s: number) => (Number.isNaN(s) ? '-' : (s * 1000).toFixed(1));
console.log(`\nbench:serve  mix=${mix}  server: ${server.describe}`);
console.log(mix === 'fixed' ? `prompt ${promptTokens} tokens, output ${outputTokens} tokens, ${rounds} request(s) per stream` : `sessions of ${turns} turns, ${rounds} per stream`);
if (passes > 1) console.log(`${passes} passes over the levels; each row is the level's median pass by output tok/s`);
console.log('streams | requests | errors | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | output tok/s | cached prompt %');
for (const r of results) {
  const cached = r.prompt_tokens > 0 ? ((100 * r.cached_prompt_tokens) / r.prompt_tokens).toFixed(0) : '-';
  console.log(
    [r.concurrency, r.requests, r.errors, ms(r.ttft_p50_s), ms(r.ttft_p99_s), ms(r.itl_p50_s), ms(r.itl_p99_s), r.output_tok_s.toFixed(1), cached].map(String).join(' | '),
  );
}
const one = results.find((r) => r.concurrency === 1);
const sixteen = results.find((r) => r.concurrency === 16);
if (one && sixteen) console.log(`16 streams / 1 stream output tok/s: ${(sixteen.output_tok_s / one.output_tok_s).toFixed(2)}x`);

// Measured after the server stopped, on the idle host (bench/serve-roofline.ts).
let roofline: Roofline | undefined;
if (mix === 'fixed' && server.config && !values['skip-roofline']) {
  roofline = measureRoofline(server.config, levels, promptTokens, outputTokens);
  const at = (n: number) => roofline!.ceilings.find((c) => c.concurrency === n)?.output_tok_s;
  const ratio = at(1) && at(16) ? `; 16 / 1 <= ${(at(16)! / at(1)!).toFixed(2)}x` : '';
  console.log(
    `roofline (linear layers only; GEMM ${roofline.gemm_gflop_s.toFixed(0)} GFLOP/s at M=512, read ${roofline.read_gb_s.toFixed(1)} GB/s): ` +
      `${roofline.ceilings.map((c) => `${c.concurrency}=${c.output_tok_s.toFixed(1)}`).join(', ')} output tok/s${ratio}`,
  );
}

const out = values.out ?? join(dirname(fileURLToPath(import.meta.url)), 'results', `serve-${mix}.json`);
mkdirSync(dirname(out), { recursive: true });
const record = { date: new Date().toISOString(), cpus: availableParallelism(), cpu: cpus()[0]?.model, loadAverage1m: loadavg()[0], server: server.describe, mix, promptTokens, outputTokens, rounds, turns, passes, levels: results, roofline };
writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
console.log(`wrote ${out}`);
