// Typed binding of the native read-bandwidth probe (kernels/src/bandwidth_probe.cc): the
// memory bound that decode throughput is compared against in bench/cpu.ts.
import { nativeAddon } from './addon.ts';

interface BandwidthAddon {
  measureReadBandwidth(bytes: number, threads: number, repeats: number): Float64Array;
}

/**
 * Synchronous (blocks for roughly repeats * bytes / bandwidth): streams a fresh buffer of `bytes`
 * split across `threads` and returns the GB/s of each repeat. Throws RangeError for sizes
 * outside [1 MiB, 16 GiB], threads outside [1, 256] or repeats outside [1, 1000].
 */
export function measureReadBandwidth(bytes: number, threads: number, repeats: number): Float64Array {
  return nativeAddon<BandwidthAddon>().measureReadBandwidth(bytes, threads, repeats);
}
