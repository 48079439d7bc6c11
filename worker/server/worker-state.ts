// One worker rank's loaded state and the operations on it, independent of the transport: the
// gRPC WorkerService and the health endpoint both read it. Steps run one at a time (the native
// model holds one step in flight); probes queue behind steps.
import { availableParallelism } from 'node:os';
import { Communicator } from '../../kernels/collective.ts';
import { decodeNcclUniqueId, deviceOrdinal, gpuBackend, GpuOptionsError, resolveDevice, type DeviceKind } from '../../kernels/gpu.ts';
import type { StepResult } from '../../kernels/model.ts';
import { runStep } from '../../kernels/model.ts';
import { loadShard, type LoadedShard } from '../shard/load-shard.ts';
import type { LoadRequest__Output } from '../../proto/gen/m2/v1/LoadRequest.ts';
import type { ShardInfoResponse } from '../../proto/gen/m2/v1/ShardInfoResponse.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse } from '../../proto/gen/m2/v1/StepResponse.ts';
import { modelFingerprint } from './fingerprint.ts';
import { fromNativeResult, StepRequestError, toNativeStep } from './step-convert.ts';

export const SUPPORTED_TP_SIZES = [1, 2, 4, 8];
/** Sequence id of probe steps (never used by the coordinator, which counts up from 0). */
const PROBE_SEQ_ID = Number.MAX_SAFE_INTEGER;

export class WorkerStateError extends Error {
  override readonly name = 'WorkerStateError';
  constructor(message: string, readonly kind: 'invalid' | 'not-loaded' | 'failed') {
    super(message);
  }
}

export interface WorkerStateOptions {
  /** Device when the Load request names none: cpu, cuda or auto (default: cuda when a GPU is visible). */
  device?: string;
}

export class WorkerState {
  constructor(private readonly options: WorkerStateOptions = {}) {}

  private shard: LoadedShard | null = null;
  private communicator: Communicator | null = null;
  private info: ShardInfoResponse | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private lastStepAt = 0;
  private lastErrorText = '';
  /** The extra KV block reserved for probe steps (the coordinator's blocks are 0..n-1). */
  private probeBlock = -1;

  get loaded(): boolean {
    return this.shard !== null;
  }

  get lastError(): string {
    return this.lastErrorText;
  }

  msSinceLastStep(): number {
    return this.lastStepAt === 0 ? -1 : Date.now() - this.lastStepAt;
  }

  shardInfo(): ShardInfoResponse {
    if (!this.info) throw new WorkerStateError('no model loaded', 'not-loaded');
    return this.info;
  }

  load(req: LoadRequest__Output): { shard: ShardInfoResponse; loadSeconds: number } {
    if (this.shard) throw new WorkerStateError('a model is already loaded on this worker', 'invalid');
    const tp = req.tpSize || 1;
    if (!SUPPORTED_TP_SIZES.includes(tp)) throw new WorkerStateError(`tp_size must be one of ${SUPPORTED_TP_SIZES.join(', ')}, got ${tp}`, 'invalid');
    if (req.rank >= tp) throw new WorkerStateError(`rank ${req.rank} is outside [0, ${tp})`, 'invalid');
    if (req.layerStart !== 0 || req.layerEnd !== 0) throw new WorkerStateError('pipeline stages (layer_start/layer_end) are not supported yet', 'invalid');
    const device = this.device(req.device || this.options.device);
    const nccl = req.collective === 'COLLECTIVE_KIND_NCCL';
    if (nccl && device !== 'cuda') throw new WorkerStateError('the NCCL collective needs device cuda', 'invalid');
    const ncclId = nccl ? this.gpuOption(() => decodeNcclUniqueId(req.collectiveName)) : undefined;
    if (req.numKvBlocks < 1 || req.blockSize < 1) throw new WorkerStateError('num_kv_blocks and block_size must be positive', 'invalid');
    const kvCacheDtype = req.kvCacheDtype || 'f32';
    if (kvCacheDtype !== 'f32' && kvCacheDtype !== 'bf16' && kvCacheDtype !== 'f16') {
      throw new WorkerStateError(`kv_cache_dtype must be f32, bf16 or f16, got ${JSON.stringify(req.kvCacheDtype)}`, 'invalid');
    }
    if (device === 'cuda' && kvCacheDtype !== 'f32') {
      throw new WorkerStateError(`CUDA ranks keep the KV cache in f32 (asked for ${kvCacheDtype}): use --kv-cache-dtype float32`, 'invalid');
    }
    const started = performance.now();
    // On cuda without NCCL (ranks sharing one GPU) the shm/TCP group is used host-staged.
    if (tp > 1 && !nccl) {
      const kind = req.collective === 'COLLECTIVE_KIND_TCP' ? 'tcp' : 'shm';
      this.communicator = new Communicator({
        kind,
        rank: req.rank,
        worldSize: tp,
        name: req.collectiveName || undefined,
        addresses: req.collectiveAddresses.length ? req.collectiveAddresses : undefined,
        timeoutMs: req.collectiveTimeoutMs || undefined,
      });
    }
    const threads = req.threads || Math.max(1, Math.floor(availableParallelism() / tp));
    const maxTokens = req.maxBatchedTokens || 2048;
    this.probeBlock = req.numKvBlocks;
    const gpu =
      device === 'cuda'
        ? {
            device: deviceOrdinal(req.rank, gpuBackend().devices.length),
            nccl: ncclId ? { uniqueId: ncclId } : undefined,
            collectiveTimeoutMs: req.collectiveTimeoutMs || undefined,
          }
        : undefined;
    this.shard = loadShard(req.modelDir, {
      rank: req.rank,
      worldSize: tp,
      collective: this.communicator ?? undefined,
      gpu,
      limits: {
        threads,
        maxTokens,
        numBlocks: req.numKvBlocks + 1,
        blockSize: req.blockSize,
        maxModelLen: this.maxModelLen(req),
        kvCacheDtype,
      },
    });
    const { config } = this.shard;
    this.info = {
      rank: req.rank,
      tpSize: tp,
      modelFingerprint: modelFingerprint(req.modelDir),
      numLayers: config.numLayers,
      layerStart: 0,
      layerEnd: config.numLayers,
      vocabSize: config.vocabSize,
      hiddenSize: config.hiddenSize,
      weightBytesLoaded: this.shard.bytesLoaded,
      weightBytesPerStep: this.shard.model.weightBytesPerToken(),
      numKvBlocks: req.numKvBlocks,
      blockSize: req.blockSize,
      kvDtype: kvCacheDtype,
      device,
    };
    return { shard: this.info, loadSeconds: (performance.now() - started) / 1000 };
  }

  private device(requested: string | undefined): DeviceKind {
    return this.gpuOption(() => resolveDevice(requested));
  }

  private gpuOption<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof GpuOptionsError) throw new WorkerStateError(err.message, 'invalid');
      throw err;
    }
  }

  private maxModelLen(req: LoadRequest__Output): number {
    return Math.min(req.maxModelLen || Infinity, req.numKvBlocks * req.blockSize);
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private loadedShard(): LoadedShard {
    if (!this.shard) throw new WorkerStateError('no model loaded', 'not-loaded');
    return this.shard;
  }

  step(req: StepRequest__Output): Promise<StepResponse> {
    const shard = this.loadedShard();
    const info = this.shardInfo();
    let native;
    try {
      native = toNativeStep(req, info.blockSize!, info.hiddenSize!);
    } catch (err) {
      if (err instanceof StepRequestError) throw new WorkerStateError(err.message, 'invalid');
      throw err;
    }
    for (const s of native.sequences) {
      for (const b of s.blockTable) {
        if (b < 0 || b >= this.probeBlock) throw new WorkerStateError(`sequence ${s.id}: block ${b} is outside [0, ${this.probeBlock})`, 'invalid');
      }
    }
    return this.serialize(async () => {
      const result = await this.run(() => runStep(shard.model, native));
      return {
        stepId: req.stepId,
        rank: info.rank,
        outputs: info.rank === 0 ? fromNativeResult(native, result, info.hiddenSize!) : [],
        timings: { forwardNs: result.forwardNs, collectiveNs: result.collectiveNs },
      };
    });
  }

  /** One token through every layer and collective on the reserved block; proves liveness. */
  probe(): Promise<StepResult> {
    const shard = this.loadedShard();
    return this.serialize(() =>
      this.run(async () => {
        const result = await runStep(shard.model, {
          tokens: new Int32Array([0]),
          positions: new Int32Array([0]),
          slotMapping: new Int32Array([this.probeBlock * this.shardInfo().blockSize!]),
          sequences: [{ id: PROBE_SEQ_ID, numTokens: 1, blockTable: new Int32Array([this.probeBlock]), outputRows: new Int32Array([0]) }],
        });
        shard.model.releaseSequence(PROBE_SEQ_ID);
        return result;
      }),
    );
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const out = await fn();
      this.lastStepAt = Date.now();
      this.lastErrorText = '';
      return out;
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code === 'ERR_STEP_REQUEST' || e.code?.startsWith('ERR_SAMPLING')) throw new WorkerStateError(e.message, 'invalid');
      this.lastErrorText = e.message;
      throw new WorkerStateError(e.message, 'failed');
    }
  }

  /** Queued behind a running step: the native model takes one call at a time. */
  release(seqIds: number[]): Promise<void> {
    const shard = this.loadedShard();
    return this.serialize(async () => {
      for (const id of seqIds) shard.model.releaseSequence(id);
    });
  }

  close(): void {
    this.communicator?.close();
  }
}
