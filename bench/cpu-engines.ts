// One generation run (one raw-id prompt, greedy, a fixed number of new tokens) on each engine
// bench/cpu.ts compares: m2's native forward pass in process and llama.cpp through node-llama-cpp
// (as sessions that stay loaded, so their runs can alternate under the same machine load), and
// an m2 replica (workers over gRPC, the serving path) at a given TP size. All report the
// same figures, measured the same way: TTFT = prompt in -> first sampled token out (wall clock),
// decode tok/s = tokens after the first / wall time after the first.
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { loadShard } from '../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../worker/shard/kv-block-allocator.ts';
import { runStep } from '../kernels/model.ts';
import { median } from './stats.ts';
import { Replica } from '../coordinator/runtime/replica.ts';

export interface RunFigures {
  ttftS: number;
  prefillTokS: number;
  decodeTokS: number;
  /** Median decode step (ms) as the engine itself timed it, where it reports one. */
  decodeStepMs?: number;
}

export interface RunSpec {
  prompt: number[];
  decode: number;
  threads: number;
}

function figures(promptLen: number, decoded: number, ttftS: number, decodeS: number, decodeStepMs?: number): RunFigures {
  return { ttftS, prefillTokS: promptLen / ttftS, decodeTokS: decoded / decodeS, decodeStepMs };
}

const seconds = (from: number): number => (performance.now() - from) / 1000;

/** An engine with its model loaded, run on one prompt at a time (sessions interleave in rounds). */
export interface EngineSession {
  run(spec: RunSpec): Promise<RunFigures>;
}

/** Largest prompt and prompt + decode a session must hold. */
export interface SessionLimits {
  threads: number;
  maxPrompt: number;
  maxLen: number;
}

/** m2's NativeModel in this process, one step per call (what a worker rank runs). */
export function openM2Native(dir: string, limits: SessionLimits): EngineSession & { weightBytesPerToken: number } {
  const blockSize = 16;
  const numBlocks = Math.ceil(limits.maxLen / blockSize) + 1;
  const { model } = loadShard(dir, {
    limits: { threads: limits.threads, maxTokens: limits.maxPrompt, numBlocks, blockSize, maxModelLen: limits.maxLen },
  });
  const run = async (spec: RunSpec): Promise<RunFigures> => {
    const blocks = new KvBlockAllocator(numBlocks, blockSize);
    const table: number[] = [];
    blocks.ensure(table, spec.prompt.length + spec.decode);
    const blockTable = Int32Array.from(table);
    const step = (from: number, tokens: Int32Array) =>
      runStep(model, {
        tokens,
        positions: Int32Array.from(tokens, (_, j) => from + j),
        slotMapping: Int32Array.from(tokens, (_, j) => blocks.slotOf(table, from + j)),
        sequences: [{ id: 1, numTokens: tokens.length, blockTable, outputRows: Int32Array.of(tokens.length - 1) }],
      });
    const t0 = performance.now();
    let next = (await step(0, Int32Array.from(spec.prompt))).ids[0];
    const ttft = seconds(t0);
    const t1 = performance.now();
    const stepNs: number[] = [];
    for (let i = 0; i < spec.decode; ++i) {
      const r = await step(spec.prompt.length + i, Int32Array.of(next));
      stepNs.push(r.forwardNs);
      next = r.ids[0];
    }
    const decodeS = seconds(t1);
    model.releaseSequence(1);
    return figures(spec.prompt.length, spec.decode, ttft, decodeS, median(stepNs) / 1e6);
  };
  return { run, weightBytesPerToken: model.weightBytesPerToken() };
}

/** llama.cpp (node-llama-cpp's prebuilt CPU binary) on a GGUF of the same weights. */
export async function openLlamaCpp(ggufPath: string, limits: SessionLimits): Promise<EngineSession & { version: string; close(): Promise<void> }> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: limits.maxLen + 16, threads: limits.threads, batchSize: limits.maxPrompt });
  const sequence = context.getSequence();
  const run = async (spec: RunSpec): Promise<RunFigures> => {
    await sequence.clearHistory();
    const t0 = performance.now();
    let ttft = 0, t1 = 0, produced = 0;
    for await (const _token of sequence.evaluate(spec.prompt as Token[], { temperature: 0 })) {
      if (produced++ === 0) {
        ttft = seconds(t0);
        t1 = performance.now();
      }
      if (produced > spec.decode) break;
    }
    return figures(spec.prompt.length, spec.decode, ttft, seconds(t1));
  };
  const close = async () => {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  };
  return { run, close, version: llama.llamaCppRelease.release };
}

/** The serving path: an m2 replica (spawned workers, gRPC steps, the engine) at TP = tp. */
export async function runM2Replica(dir: string, tp: number, spec: RunSpec, warmup: RunSpec): Promise<RunFigures> {
  const replica = await Replica.start({
    modelDir: dir,
    tp,
    collective: 'shm',
    kvCacheMemory: '512MiB',
    blockSize: 16,
    maxModelLen: Math.max(spec.prompt.length + spec.decode, warmup.prompt.length + warmup.decode) + 16,
    maxNumSeqs: 4,
    maxNumBatchedTokens: Math.max(spec.prompt.length, warmup.prompt.length),
    threadsPerRank: Math.max(1, Math.floor(spec.threads / tp)),
    stepTimeoutMs: 120_000,
    loadTimeoutMs: 300_000,
    collectiveTimeoutMs: 10_000,
  });
  let n = 0;
  const once = async (run: RunSpec): Promise<RunFigures> => {
    let ttft = 0, e2e = 0, completion = 0;
    const request = {
      requestId: `bench-${n++}`,
      promptTokenIds: run.prompt,
      params: { sampling: { temperature: 0, topP: 1, repetitionPenalty: 1, logprobs: -1 }, n: 1, maxTokens: run.decode + 1, ignoreEos: true },
    };
    for await (const update of replica.engine.generate(request)) {
      if (update.usage) {
        ttft = update.ttftSeconds;
        e2e = update.e2eSeconds;
        completion = update.usage.completionTokens;
      }
    }
    return figures(run.prompt.length, completion - 1, ttft, e2e - ttft);
  };
  try {
    await once(warmup);
    return await once(spec);
  } finally {
    await replica.close();
  }
}
