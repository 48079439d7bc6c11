// Typed binding of the GPU backend (kernels/src/gpu_binding.cc, kernels/cuda/*.cu): whether the
// addon was built with CUDA, device selection for a worker (`--device cuda|cpu`, default cuda
// when a GPU is visible), the NCCL library loaded at run time, and GpuModel, the CUDA forward
// pass with the same interface as NativeModel so the worker's step path is unchanged.
import { nativeAddon } from './addon.ts';
import type { Communicator } from './collective.ts';
import type { NativeModel, NativeModelLimits, NativeModelShape } from './model.ts';

export interface GpuBackendInfo {
  /** True when the addon was compiled with CUDA (M2_BUILD_CUDA=1 or a GPU visible at install). */
  built: boolean;
  /** Names of the CUDA devices this process sees, in ordinal order. */
  devices: string[];
  /** Why no device is usable, when none is. */
  error?: string;
}

export interface NcclLibraryInfo {
  path: string;
  /** ncclGetVersion, e.g. 22105 for 2.21.5. */
  version: number;
}

export type DeviceKind = 'cpu' | 'cuda';
export const DEVICE_KINDS: readonly DeviceKind[] = ['cpu', 'cuda'];

/** How a GPU rank reduces across its TP group: alone, NCCL on the device, or through the host. */
export type GpuCollectiveMode = 'single' | 'nccl' | 'host-staged';

export interface GpuModel extends NativeModel {
  collectiveMode(): GpuCollectiveMode;
}

export interface GpuModelOptions {
  /** CUDA device ordinal; default 0. */
  device?: number;
  /** TP group over NCCL: every rank passes the same 128-byte id (see ncclUniqueId). */
  nccl?: { uniqueId: Uint8Array; library?: string };
  /** TP group over shm/TCP instead (ranks sharing a GPU, which NCCL refuses): host-staged. */
  collective?: Communicator;
  /** Deadline of a step's NCCL collectives; default 5000. */
  collectiveTimeoutMs?: number;
}

/** Bad device or NCCL options; `code` is stable. */
export class GpuOptionsError extends Error {
  override readonly name = 'GpuOptionsError';
  readonly code = 'ERR_GPU_OPTIONS';
}

interface GpuNative {
  gpuBackend(): GpuBackendInfo;
  ncclLibrary(path?: string): NcclLibraryInfo;
  ncclUniqueId(path?: string): Uint8Array;
  gpuCopyBandwidth?(device: number, bytes: number, iterations: number): number;
  GpuModel?: new (options: { shape: NativeModelShape; limits: NativeModelLimits } & GpuModelOptions) => GpuModel;
}

const native = nativeAddon<GpuNative>();

/** Synchronous; cheap after the first call (the CUDA runtime caches the device list). */
export function gpuBackend(): GpuBackendInfo {
  return native.gpuBackend();
}

/**
 * Loads NCCL (path, else $M2_NCCL_LIBRARY, else libnccl.so.2) with dlopen. Throws an Error with
 * code ERR_NCCL_UNAVAILABLE naming the library and what failed when it cannot be loaded.
 */
export function ncclLibrary(path?: string): NcclLibraryInfo {
  return native.ncclLibrary(path);
}

/** A fresh NCCL unique id (ncclGetUniqueId) for a new group; throws like ncclLibrary. */
export function ncclUniqueId(path?: string): Uint8Array {
  return native.ncclUniqueId(path);
}

const NCCL_ID_BYTES = 128;

/** The id as 256 hex characters: how it travels in LoadRequest.collective_name. */
export function encodeNcclUniqueId(id: Uint8Array): string {
  if (id.length !== NCCL_ID_BYTES) throw new GpuOptionsError(`an NCCL unique id has ${NCCL_ID_BYTES} bytes, got ${id.length}`);
  return Buffer.from(id).toString('hex');
}

export function decodeNcclUniqueId(text: string): Uint8Array {
  if (!new RegExp(`^[0-9a-fA-F]{${2 * NCCL_ID_BYTES}}$`).test(text))
    throw new GpuOptionsError(`collective_name must carry the NCCL unique id as ${2 * NCCL_ID_BYTES} hex characters (got ${text.length} characters)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * The device a worker runs on. '' / undefined / 'auto': cuda when this addon has CUDA and sees a
 * GPU, else cpu. 'cuda' when it cannot run throws GpuOptionsError saying why (not built, or no
 * device visible); anything else is rejected.
 */
export function resolveDevice(requested: string | undefined, backend: GpuBackendInfo = gpuBackend()): DeviceKind {
  const want = requested?.trim().toLowerCase() ?? '';
  const usable = backend.built && backend.devices.length > 0;
  if (want === '' || want === 'auto') return usable ? 'cuda' : 'cpu';
  if (want === 'cpu') return 'cpu';
  if (want !== 'cuda') throw new GpuOptionsError(`device must be one of cpu, cuda (or auto), got ${JSON.stringify(requested)}`);
  if (!backend.built)
    throw new GpuOptionsError('device cuda: this addon was built without CUDA; rebuild with M2_BUILD_CUDA=1 (see README "GPU")');
  if (backend.devices.length === 0) throw new GpuOptionsError(`device cuda: no CUDA device is visible (${backend.error ?? 'unknown reason'})`);
  return 'cuda';
}

/** Ranks of one host take GPUs round robin: rank r uses cuda:(r mod devices). */
export function deviceOrdinal(rank: number, deviceCount: number): number {
  if (deviceCount < 1) throw new GpuOptionsError('no CUDA device to place a rank on');
  return rank % deviceCount;
}

/**
 * Bytes/s of a device-to-device copy on `device` (read + write counted; median of `iterations`):
 * the HBM bound decode is judged against. Synchronous. Throws GpuOptionsError without CUDA.
 */
export function gpuCopyBandwidth(device = 0, bytes = 1 << 30, iterations = 20): number {
  if (!native.gpuCopyBandwidth) throw new GpuOptionsError(`the CUDA backend is not available: ${native.gpuBackend().error ?? 'not built'}`);
  return native.gpuCopyBandwidth(device, bytes, iterations);
}

/** Throws GpuOptionsError when the addon has no CUDA backend (see gpuBackend().error). */
export function createGpuModel(shape: NativeModelShape, limits: NativeModelLimits, options: GpuModelOptions = {}): GpuModel {
  if (!native.GpuModel) throw new GpuOptionsError(`the CUDA backend is not available: ${native.gpuBackend().error ?? 'not built'}`);
  return new native.GpuModel({ shape, limits, ...options });
}
