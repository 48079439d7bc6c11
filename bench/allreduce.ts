// All-reduce latency of the CPU collectives as the forward pass sees them: one rank per process,
// back-to-back calls of the hidden sizes of `small` (896) and M2 (5120) f32. Prints p50/p99 per
// (transport, ranks, size) and writes bench/results/allreduce.json. 2-rank groups are pinned one
// rank per core with taskset when the machine has the cores; 4-rank groups are left to the
// scheduler (on a 2-core machine that is the oversubscribed TP=4 test layout).
// Usage: node --import tsx bench/allreduce.ts [--iterations N]
// bench/tp.ts imports runGroup for its all-reduce rows.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantile } from './stats.ts';
import { Communicator, type CommunicatorOptions } from '../kernels/collective.ts';

interface RankJob extends CommunicatorOptions {
  count: number;
  warmup: number;
  iterations: number;
}
export interface Result {
  kind: 'shm' | 'tcp';
  ranks: number;
  floats: number;
  pinned: boolean;
  iterations: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}

const thisFile = fileURLToPath(import.meta.url);

/** Rank body: times each call; rank 0 prints its latencies in ns as one JSON line. */
function runRank(job: RankJob): void {
  const comm = new Communicator(job);
  const data = new Float32Array(job.count).fill(1);
  const ns = new Float64Array(job.iterations);
  for (let i = 0; i < job.warmup; i++) comm.allReduceSum(data);
  for (let i = 0; i < job.iterations; i++) {
    data.fill(1, 0, 1);
    const t0 = process.hrtime.bigint();
    comm.allReduceSum(data);
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  comm.barrier();
  comm.close();
  if (job.rank === 0) process.stdout.write(`${JSON.stringify(Array.from(ns))}\n`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One rank per core with taskset, when the machine has the cores and taskset works. */
export function canPinRanks(ranks: number): boolean {
  return ranks <= availableParallelism() && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

export async function runGroup(kind: 'shm' | 'tcp', ranks: number, count: number, iterations: number, pin: boolean): Promise<Result> {
  const group = kind === 'shm' ? { name: `m2-bench-allreduce-${process.pid}-${ranks}-${count}` } : { addresses: [`127.0.0.1:${await freePort()}`] };
  const outputs = await Promise.all(
    [...Array(ranks).keys()].map((rank) => {
      const job: RankJob = { kind, rank, worldSize: ranks, ...group, count, warmup: 200, iterations };
      const node = [process.execPath, '--import', 'tsx', thisFile];
      const argv = pin ? ['taskset', '-c', String(rank), ...node] : node;
      const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, M2_ALLREDUCE_RANK: JSON.stringify(job) }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return new Promise<string>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${kind} rank ${rank}/${ranks} exited with ${code}`)))),
      );
    }),
  );
  const ns = JSON.parse(outputs[0]) as number[];
  const mean = ns.reduce((a, b) => a + b, 0) / ns.length / 1000;
  const round = (x: number): number => Math.round(x * 100) / 100;
  return { kind, ranks, floats: count, pinned: pin, iterations, p50_us: round(quantile(ns, 0.5) / 1000), p99_us: round(quantile(ns, 0.99) / 1000), mean_us: round(mean) };
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--iterations');
  const iterations = at > 0 ? Number(process.argv[at + 1]) : 5000;
  if (!Number.isInteger(iterations) || iterations < 100) throw new Error('--iterations must be an integer >= 100');
  const cpus = availableParallelism();
  const results: Result[] = [];
  for (const kind of ['shm', 'tcp'] as const) {
    for (const ranks of [2, 4]) {
      for (const count of [896, 5120]) {
        results.push(await runGroup(kind, ranks, count, ranks > cpus ? Math.ceil(iterations / 2) : iterations, canPinRanks(ranks)));
      }
    }
  }
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const load = loadavg()[0];
  console.log(`all-reduce latency (rank 0, back-to-back calls) on ${cpus} CPUs (${cpu}), 1-min load average ${load.toFixed(2)}`);
  console.log('kind  ranks  floats  pinned  iterations    p50 us    p99 us   mean us');
  for (const r of results)
    console.log(
      `${r.kind.padEnd(4)}  ${String(r.ranks).padStart(5)}  ${String(r.floats).padStart(6)}  ${String(r.pinned).padStart(6)}  ${String(r.iterations).padStart(10)}  ${r.p50_us.toFixed(2).padStart(8)}  ${r.p99_us.toFixed(2).padStart(8)}  ${r.mean_us.toFixed(2).padStart(8)}`,
    );
  const out = join(dirname(thisFile), 'results', 'allreduce.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), cpus, cpu, loadAverage1m: load, command: `node --import tsx bench/allreduce.ts --iterations ${iterations}`, results }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

const rankJob = process.env.M2_ALLREDUCE_RANK;
if (rankJob !== undefined) runRank(JSON.parse(rankJob) as RankJob);
else if (process.argv[1] === thisFile) await main();
