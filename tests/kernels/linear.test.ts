// The native linear kernel against a float64 reference, for every weight dtype, odd sizes
// (vector tails, tile tails) and thread counts, plus its batch invariance: a row's output is
// bit-identical whatever the other rows are. On CPUs with AVX512_BF16, bf16 weights take the
// bf16-dot path, which rounds x to bf16 first: its reference rounds x the same way (the
// products are then exact in f32, so the same accumulation tolerance holds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOps } from '../../kernels/kernel-ops.ts';
import { kernelPaths } from '../../kernels/cpu-features.ts';
import { passesWith } from '../helpers/rerun-with-env.ts';
import type { TensorDtypeName } from '../../kernels/model.ts';
import { bf16BitsToF32, decodeFloats, encodeFloats, f32ToBf16Bits, type TensorDtype } from '../../worker/model/dtype.ts';
import { fillUniform } from '../../worker/model/seeded-weights.ts';

const TAG: Record<TensorDtypeName, TensorDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

function random(n: number, name: string): Float32Array {
  const out = new Float32Array(n);
  fillUniform(out, 42, name, 0, 1);
  return out;
}

const bf16DotPath = (): boolean => kernelPaths().bf16Dot;

function roundedToBf16(x: Float32Array): Float32Array {
  return x.map((v) => bf16BitsToF32(f32ToBf16Bits(v)));
}

function reference(x: Float32Array, w: Float32Array, bias: Float32Array | null, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; ++m)
    for (let n = 0; n < N; ++n) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; ++k) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  return y;
}

for (const dtype of ['f32', 'f16', 'bf16'] as const) {
  test(`linear ${dtype}: matches a float64 reference at odd sizes and thread counts`, () => {
    for (const [M, N, K] of [[1, 1, 1], [1, 37, 53], [5, 67, 129], [9, 33, 200], [66, 70, 17]]) {
      const x = random(M * K, `x${M}`);
      const wBytes = encodeFloats(random(N * K, `w${N}`), TAG[dtype]);
      const w = decodeFloats(wBytes, TAG[dtype]);
      const bias = N % 2 ? random(N, 'b') : null;
      const ref = reference(dtype === 'bf16' && bf16DotPath() ? roundedToBf16(x) : x, w, bias, M, N, K);
      for (const threads of [1, 2, 3]) {
        const y = kernelOps.linear(x, M, new Uint8Array(wBytes), dtype, N, K, bias, threads);
        for (let i = 0; i < y.length; ++i) {
          assert.ok(Math.abs(y[i] - ref[i]) <= 1e-5 * (1 + Math.sqrt(K)), `${dtype} M${M} N${N} K${K} t${threads} [${i}]: ${y[i]} vs ${ref[i]}`);
        }
      }
    }
  });
}

for (const dtype of ['f32', 'f16', 'bf16'] as const) {
  test(`packed ${dtype}: every row reads back exactly (the embedding lookup of a packed table)`, () => {
    // Rows not a multiple of the row group, cols with a chunk tail, and a table under one chunk.
    for (const [N, K] of [[1, 3], [7, 16], [9, 53], [13, 40]]) {
      const wBytes = encodeFloats(random(N * K, `w${N}x${K}`), TAG[dtype]);
      const w = decodeFloats(wBytes, TAG[dtype]);
      const rows = Int32Array.from({ length: N }, (_, i) => N - 1 - i);
      const got = kernelOps.packedRows(new Uint8Array(wBytes), dtype, N, K, rows);
      rows.forEach((r, i) => assert.deepEqual(got.subarray(i * K, (i + 1) * K), w.subarray(r * K, (r + 1) * K), `${dtype} ${N}x${K} row ${r}`));
    }
    assert.throws(() => kernelOps.packedRows(new Uint8Array(6), dtype, 1, 2, Int32Array.of(0)), /size mismatch/);
  });
}

test('linear bf16: the bf16-dot path rounds x to bf16 (RNE), and only that path does', () => {
  const N = 3, K = 40;
  const w = random(N * K, 'wr').map((v) => bf16BitsToF32(f32ToBf16Bits(v)));
  // 1 + 2^-8 lies halfway between two bf16 values: RNE takes the even one, 1; 1 + 3 * 2^-8 rounds up.
  const x = new Float32Array(K).map((_, k) => (k % 2 ? 1 + 2 ** -8 : 1 + 3 * 2 ** -8));
  const y = kernelOps.linear(x, 1, new Uint8Array(encodeFloats(w, 'BF16')), 'bf16', N, K, null, 1);
  const expect = reference(bf16DotPath() ? roundedToBf16(x) : x, w, null, 1, N, K);
  assert.deepEqual(roundedToBf16(x).slice(0, 2), new Float32Array([1 + 2 ** -6, 1]));
  for (let n = 0; n < N; ++n) assert.ok(Math.abs(y[n] - expect[n]) <= 1e-5 * (1 + Math.sqrt(K)), `[${n}]: ${y[n]} vs ${expect[n]}`);
});

for (const dtype of ['bf16', 'f32'] as const) {
  test(`linear ${dtype}: each row is bit-identical alone and in any batch, with any thread count`, () => {
    const N = 45, K = 203;
    const w = new Uint8Array(encodeFloats(random(N * K, 'wi'), TAG[dtype]));
    const batch = random(13 * K, 'xi');
    const together = kernelOps.linear(batch, 13, w, dtype, N, K, null, 2);
    for (const m of [0, 4, 12]) {
      const alone = kernelOps.linear(batch.slice(m * K, (m + 1) * K), 1, w, dtype, N, K, null, 1);
      assert.deepEqual(alone, together.slice(m * N, (m + 1) * N), `row ${m}`);
    }
    const three = kernelOps.linear(batch.slice(4 * K, 7 * K), 3, w, dtype, N, K, null, 3);
    assert.deepEqual(three, together.slice(4 * N, 7 * N));
  });
}

test('linear: size mismatches are errors, not crashes', () => {
  const x = new Float32Array(8);
  assert.throws(() => kernelOps.linear(x, 2, new Uint8Array(16), 'f32', 2, 4, null, 1), /weights size mismatch/);
  assert.throws(() => kernelOps.linear(x, 3, new Uint8Array(32), 'f32', 2, 4, null, 1), /x must hold/);
  assert.throws(() => kernelOps.linear(x, 2, new Uint8Array(32), 'int4' as 'f32', 2, 4, null, 1), /unsupported tensor dtype/);
});

test('linear: the AVX2 path passes these tests too (M2_KERNELS_MAX_ISA=avx2)', { skip: process.env.M2_KERNELS_MAX_ISA === 'avx2' }, () => {
  passesWith(import.meta.url, { M2_KERNELS_MAX_ISA: 'avx2' });
});

test('linear: bf16 weights pass these tests on the f32 path too (M2_KERNELS_BF16_DOT=0)', { skip: !bf16DotPath() }, () => {
  passesWith(import.meta.url, { M2_KERNELS_BF16_DOT: '0' });
});
