// What bench:serve's fixed workload could reach on this host if serving cost nothing but the
// linear layers: each level's prefill (every prompt token through every layer but the LM head)
// at the GEMM rate the linear kernel measures here at prefill size, then (output - 1) decode
// steps, each bound by reading every weight once (measured read bandwidth) or by its FLOPs at
// that GEMM rate, whichever is slower. Attention, sampling, the step round trip and CPU taken by
// the router, the coordinator and the client are left out, so a level's real tok/s sits below
// its ceiling; how far below, and how the ceilings of 1 and 16 streams compare, says which
// target the host can meet at this shape at all.
import { availableParallelism } from 'node:os';
import { linearProbe } from '../kernels/perf-probe.ts';
import type { ModelConfig } from '../worker/model/config.ts';
import { readBandwidthGBs } from './read-bandwidth.ts';

export interface Roofline {
  gemm_gflop_s: number;
  read_gb_s: number;
  /** FLOPs of one token through the layers (no LM head), and of the LM head for one token. */
  layer_flop_per_token: number;
  head_flop_per_token: number;
  /** Weight bytes a decode step reads (layers and LM head). */
  weight_bytes_per_step: number;
  /** Ceiling output tok/s per level. */
  ceilings: { concurrency: number; output_tok_s: number }[];
}

function layerParams(c: ModelConfig): number {
  const q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  const attention = c.hiddenSize * (q + 2 * kv) + q * c.hiddenSize;
  const mlp = 3 * c.hiddenSize * c.intermediateSize;
  return c.numLayers * (attention + mlp);
}

/** Measures the host (about 10 s, nothing else should run) and returns each level's ceiling. */
export function measureRoofline(c: ModelConfig, levels: number[], promptTokens: number, outputTokens: number): Roofline {
  const threads = availableParallelism();
  const weightBytes = c.torchDtype === 'float32' ? 4 : 2;
  const dtype = weightBytes === 4 ? 'f32' : 'bf16';
  // The MLP's gate and up projections, which the forward pass runs as one call of 2 x intermediate
  // rows: most of a step's FLOPs, at a prefill-sized M.
  const rows = 2 * c.intermediateSize, m = 512;
  const gemm = linearProbe({ rows, cols: c.hiddenSize, dtype, m, threads, repeats: 5, packed: true, seed: 1 });
  const gemmFlops = (2 * rows * c.hiddenSize * m) / Math.min(...gemm.seconds);
  const readBytesS = readBandwidthGBs(threads) * 1e9;
  const layerFlop = 2 * layerParams(c), headFlop = 2 * c.hiddenSize * c.vocabSize;
  const stepBytes = (layerParams(c) + c.hiddenSize * c.vocabSize) * weightBytes;
  const ceilings = levels.map((n) => {
    const prefill = (n * promptTokens * layerFlop + n * headFlop) / gemmFlops;
    const step = Math.max(stepBytes / readBytesS, (n * (layerFlop + headFlop)) / gemmFlops);
    return { concurrency: n, output_tok_s: (n * outputTokens) / (prefill + (outputTokens - 1) * step) };
  });
  return {
    gemm_gflop_s: gemmFlops / 1e9,
    read_gb_s: readBytesS / 1e9,
    layer_flop_per_token: layerFlop,
    head_flop_per_token: headFlop,
    weight_bytes_per_step: stepBytes,
    ceilings,
  };
}
