// Loads one tensor-parallel rank's weight shard from an HF checkpoint into a NativeModel:
// each tensor is read as just the rows or columns the rank owns (positioned reads, never the
// whole file) and copied into native memory in its checkpoint dtype.
import { loadModelConfig, type ModelConfig } from '../model/config.ts';
import { SafetensorsCheckpoint } from '../model/safetensors.ts';
import type { TensorDtype } from '../model/dtype.ts';
import type { Communicator } from '../../kernels/collective.ts';
import { createNativeModel, type NativeModel, type NativeModelLimits, type TensorDtypeName } from '../../kernels/model.ts';
import { createGpuModel, type GpuModelOptions } from '../../kernels/gpu.ts';
import { planShard, ShardPlanError, type ShardPlan, type TensorSlice } from './shard-plan.ts';

export interface LoadedShard {
  model: NativeModel;
  config: ModelConfig;
  plan: ShardPlan;
  /** Bytes of weights this rank read from the checkpoint (its slices only). */
  bytesLoaded: number;
}

export interface LoadShardOptions {
  rank?: number;
  worldSize?: number;
  limits: NativeModelLimits;
  /** This rank's group membership; required when worldSize > 1 (unless gpu.nccl is given). */
  collective?: Communicator;
  /** Load onto a CUDA device (weights uploaded once) instead of the CPU backend. */
  gpu?: Omit<GpuModelOptions, 'collective'>;
}

const NATIVE_DTYPE: Partial<Record<TensorDtype, TensorDtypeName>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

function sliceShape(shape: number[], slice: TensorSlice): number[] {
  const out = [...shape];
  if (slice.axis === 'rows') out[0] = slice.end - slice.start;
  if (slice.axis === 'columns') out[out.length - 1] = slice.end - slice.start;
  return out;
}

function readSlice(ckpt: SafetensorsCheckpoint, slice: TensorSlice): Buffer {
  if (slice.axis === 'rows') return ckpt.readRows(slice.name, slice.start, slice.end);
  if (slice.axis === 'columns') return ckpt.readColumns(slice.name, slice.start, slice.end);
  return ckpt.read(slice.name);
}

/** Synchronous (reads and copies every tensor of the shard); throws naming the tensor at fault. */
export function loadShard(dir: string, options: LoadShardOptions): LoadedShard {
  const config = loadModelConfig(dir);
  const plan = planShard(config, options.rank ?? 0, options.worldSize ?? 1);
  const model = options.gpu
    ? createGpuModel(plan.shape, options.limits, { ...options.gpu, collective: options.collective })
    : createNativeModel(plan.shape, options.limits, options.collective);
  let bytesLoaded = 0;
  const ckpt = SafetensorsCheckpoint.open(dir);
  try {
    for (const slice of plan.tensors) {
      const info = ckpt.info(slice.name);
      const dtype = NATIVE_DTYPE[info.dtype];
      if (!dtype) throw new ShardPlanError(`${slice.name}: dtype ${info.dtype} is not a float type`);
      const data = readSlice(ckpt, slice);
      model.setTensor(slice.name, data, dtype, sliceShape(info.shape, slice));
      bytesLoaded += data.length;
    }
  } finally {
    ckpt.close();
  }
  const missing = model.missingTensors();
  if (missing.length > 0) throw new ShardPlanError(`${dir}: checkpoint lacks ${missing.join(', ')}`);
  return { model, config, plan, bytesLoaded };
}
