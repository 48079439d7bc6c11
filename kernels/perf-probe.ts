// Typed binding of the native performance probes (kernels/src/perf_probe.cc): the memory read
// bandwidth that decode throughput is compared against (bench/cpu.ts), and the linear kernel on
// seeded weights in either layout (tests/kernels/perf-linear.test.ts).
import { nativeAddon } from './addon.ts';
import type { TensorDtypeName } from './model.ts';

export interface LinearProbeResult {
  /** Wall time of each repeat. */
  seconds: Float64Array;
  /** [M, rows] outputs of the last repeat. */
  y: Float32Array;
}

interface PerfProbeAddon {
  measureReadBandwidth(bytes: number, threads: number, repeats: number): Float64Array;
  linearProbe(rows: number, cols: number, dtype: TensorDtypeName, m: number, threads: number, repeats: number,
    packed: boolean, seed: number): LinearProbeResult;
}

const addon = nativeAddon<PerfProbeAddon>();

/**
 * Synchronous (blocks for roughly repeats * bytes / bandwidth): streams a fresh buffer of `bytes`
 * split across `threads` and returns the GB/s of each repeat. Throws RangeError for sizes
 * outside [1 MiB, 16 GiB], threads outside [1, 256] or repeats outside [1, 1000].
 */
export function measureReadBandwidth(bytes: number, threads: number, repeats: number): Float64Array {
  return addon.measureReadBandwidth(bytes, threads, repeats);
}

export interface LinearProbeOptions {
  rows: number;
  cols: number;
  dtype: TensorDtypeName;
  /** Input rows (1 = a decode GEMV). */
  m: number;
  threads: number;
  repeats: number;
  /** The load-time packed layout the forward pass uses, or plain row-major. */
  packed: boolean;
  seed: number;
}

/** Synchronous: y = x W^T + b on seeded x, W, b (same seed -> same values in either layout). */
export function linearProbe(o: LinearProbeOptions): LinearProbeResult {
  return addon.linearProbe(o.rows, o.cols, o.dtype, o.m, o.threads, o.repeats, o.packed, o.seed);
}
