// One model replica as the coordinator runs it: the TP group's workers (spawned here, or
// reached at given addresses), loaded with their shards, and the engine that schedules onto
// them. `m2 generate`, `m2 coordinator` and `m2 serve` all start a replica through this.
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { loadModelConfig, type ModelConfig } from '../../worker/model/config.ts';
import { QwenTokenizer } from '../text/tokenizer.ts';
import { IncrementalDetokenizer } from '../text/detokenizer.ts';
import { Engine } from '../engine/engine.ts';
import type { Detokenizer } from '../engine/output-processor.ts';
import { spawnM2, stopChildren, type M2Child } from '../group/child-process.ts';
import { WorkerGroup } from '../group/worker-group.ts';
import { MeteredExecutor, type EngineMetrics } from '../metrics/engine-metrics.ts';
import { parseKvMemory, planKvCache, resolveKvCacheDtype, type KvCacheDtypeOption } from './kv-sizing.ts';
import { existsSync, rmSync } from 'node:fs';
import { encodeNcclUniqueId, ncclUniqueId, resolveDevice } from '../../kernels/gpu.ts';
import { join } from 'node:path';

export interface ReplicaOptions {
  modelDir: string;
  tp: number;
  /** Collective between ranks: shared memory (one host) or TCP. */
  /** nccl: GPU ranks (the coordinator makes the group's unique id). */
  collective: 'shm' | 'tcp' | 'nccl';
  /** Device of every rank; absent = each worker's own --device (auto: cuda when it sees a GPU). */
  device?: 'cpu' | 'cuda' | 'auto';
  /** host:port of already running workers, in rank order; when absent they are spawned. */
  workerAddresses?: string[];
  /** Host rank 0 listens on for the TCP collective (default: rank 0's gRPC host). */
  collectivePort?: number;
  kvCacheMemory: string;
  /** Element type of the KV cache (default auto: see resolveKvCacheDtype). */
  kvCacheDtype?: KvCacheDtypeOption;
  blockSize: number;
  maxModelLen?: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxWaitingRequests?: number;
  /** Compute threads per rank; default: cores / tp. */
  threadsPerRank?: number;
  stepTimeoutMs: number;
  loadTimeoutMs: number;
  collectiveTimeoutMs: number;
  /** Times every engine step (m2:step_* metrics) when given. */
  stepMetrics?: EngineMetrics;
}

export const SUPPORTED_TP = [1, 2, 4, 8];

const COLLECTIVE_KIND = { shm: 'COLLECTIVE_KIND_SHM', tcp: 'COLLECTIVE_KIND_TCP', nccl: 'COLLECTIVE_KIND_NCCL' } as const;

export class ReplicaError extends Error {
  override readonly name = 'ReplicaError';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Token ids only (the micro preset has no tokenizer): text deltas stay empty. */
const silentDetokenizer = (): Detokenizer => ({ push: () => '', flush: () => '' });

export class Replica {
  private constructor(
    readonly config: ModelConfig,
    readonly tokenizer: QwenTokenizer | null,
    readonly group: WorkerGroup,
    readonly engine: Engine,
    private readonly children: M2Child[],
    readonly loadSeconds: number,
    readonly weightBytesPerRank: number[],
    /** Element type of the KV cache, as rank 0 reported it. */
    readonly kvCacheDtype: string,
    private readonly shmSegment: string | null,
  ) {}

  static async start(opts: ReplicaOptions): Promise<Replica> {
    if (!existsSync(join(opts.modelDir, 'config.json'))) throw new ReplicaError(`model folder ${opts.modelDir} has no config.json`);
    const config = loadModelConfig(opts.modelDir);
    if (!SUPPORTED_TP.includes(opts.tp)) throw new ReplicaError(`--tp must be one of ${SUPPORTED_TP.join(', ')}, got ${opts.tp}`);
    for (const [what, n] of [['num_key_value_heads', config.numKvHeads], ['num_attention_heads', config.numHeads]] as const) {
      if (n % opts.tp !== 0) throw new ReplicaError(`--tp ${opts.tp} does not divide the model's ${what} (${n})`);
    }
    const kvBytes = parseKvMemory(opts.kvCacheMemory);
    // Workers spawned here resolve an unset device exactly as this process would; remote ones
    // may decide otherwise, so their device stays unknown.
    const device = opts.device === 'cpu' || opts.device === 'cuda' ? opts.device : opts.workerAddresses ? undefined : resolveDevice(opts.device);
    const kvDtype = resolveKvCacheDtype(opts.kvCacheDtype ?? 'auto', config, device);
    const kv = planKvCache(config, opts.tp, opts.blockSize, kvBytes, kvDtype, opts.maxModelLen);
    const tokenizer = existsSync(join(opts.modelDir, 'tokenizer.json')) ? QwenTokenizer.fromModelDir(opts.modelDir) : null;

    const started = performance.now();
    const children: M2Child[] = [];
    let group: WorkerGroup | null = null;
    const collectiveName = opts.collective === 'nccl' ? encodeNcclUniqueId(ncclUniqueId()) : `m2-${process.pid}-${randomBytes(4).toString('hex')}`;
    // Rank 0 unlinks the shm segment once every rank joined; a group that dies before that
    // leaves it behind, so the replica removes it after stopping the workers it spawned.
    const shmSegment = opts.collective === 'shm' && !opts.workerAddresses ? join('/dev/shm', collectiveName) : null;
    try {
      let addresses = opts.workerAddresses;
      if (!addresses) {
        const spawned = await Promise.allSettled(
          Array.from({ length: opts.tp }, (_, rank) =>
            spawnM2(['worker', '--rank', String(rank), '--port', '0', '--health-port', '0'], { name: `worker ${rank}`, timeoutMs: 60_000 }),
          ),
        );
        // The ranks that did start are stopped below when another one failed to: a live child
        // would keep this process from ever exiting.
        for (const s of spawned) if (s.status === 'fulfilled') children.push(s.value);
        const failed = spawned.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        addresses = children.map((c) => c.ready.grpc!);
      }
      if (addresses.length !== opts.tp) throw new ReplicaError(`--tp ${opts.tp} needs ${opts.tp} worker addresses, got ${addresses.length}`);
      group = new WorkerGroup({ addresses, stepTimeoutMs: opts.stepTimeoutMs, loadTimeoutMs: opts.loadTimeoutMs });
      const rank0Host = addresses[0].slice(0, addresses[0].lastIndexOf(':'));
      const collectivePort = opts.collective === 'tcp' ? (opts.collectivePort ?? (await freePort())) : 0;
      const shards = await group.load({
        modelDir: opts.modelDir,
        layerStart: 0,
        layerEnd: 0,
        collective: COLLECTIVE_KIND[opts.collective],
        collectiveName,
        collectiveAddresses: opts.collective === 'tcp' ? [`${rank0Host}:${collectivePort}`] : [],
        collectiveTimeoutMs: opts.collectiveTimeoutMs,
        numKvBlocks: kv.numKvBlocks,
        blockSize: opts.blockSize,
        maxBatchedTokens: opts.maxNumBatchedTokens,
        maxNumSeqs: opts.maxNumSeqs,
        maxModelLen: kv.maxModelLen,
        kvCacheDtype: kvDtype,
        threads: opts.threadsPerRank ?? 0,
        device: opts.device === 'auto' ? '' : (opts.device ?? ''),
      });
      const engine = new Engine(
        opts.stepMetrics ? new MeteredExecutor(group, opts.stepMetrics) : group,
        {
          numKvBlocks: kv.numKvBlocks,
          blockSize: opts.blockSize,
          maxModelLen: kv.maxModelLen,
          maxNumSeqs: opts.maxNumSeqs,
          maxNumBatchedTokens: opts.maxNumBatchedTokens,
          maxWaitingRequests: opts.maxWaitingRequests,
          eosTokenIds: config.eosTokenIds,
          vocabSize: config.vocabSize,
        },
        {
          createDetokenizer: ({ skipSpecialTokens }) =>
            tokenizer ? new IncrementalDetokenizer(tokenizer, { skipSpecialTokens }) : silentDetokenizer(),
        },
      );
      const seconds = (performance.now() - started) / 1000;
      return new Replica(config, tokenizer, group, engine, children, seconds, shards.map((s) => s.weightBytesLoaded), shards[0].kvDtype, shmSegment);
    } catch (err) {
      group?.close();
      await stopChildren(children);
      if (shmSegment) rmSync(shmSegment, { force: true });
      throw err;
    }
  }

  /** Aborts what is running, stops the engine and the workers this replica spawned. */
  async close(): Promise<void> {
    await this.engine.close();
    this.group.close();
    await stopChildren(this.children);
    if (this.shmSegment) rmSync(this.shmSegment, { force: true });
  }
}
