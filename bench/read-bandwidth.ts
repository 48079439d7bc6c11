// The memory read bandwidth the benchmarks hold decode against: the median of five streaming
// passes over a fresh 1 GiB buffer (kernels/src/perf_probe.cc), far beyond any cache.
import { measureReadBandwidth } from '../kernels/perf-probe.ts';
import { median } from './stats.ts';

/** GB/s with `threads` readers; blocks for about a second. */
export function readBandwidthGBs(threads: number): number {
  return median([...measureReadBandwidth(1 << 30, threads, 5)]);
}
