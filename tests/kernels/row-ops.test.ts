// RMSNorm and rotary embedding against straightforward float64 references.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOps } from '../../kernels/kernel-ops.ts';
import { fillUniform } from '../../worker/model/seeded-weights.ts';

function random(n: number, name: string, center = 0): Float32Array {
  const out = new Float32Array(n);
  fillUniform(out, 3, name, center, 1);
  return out;
}

test('rmsNorm: x * rsqrt(mean(x^2) + eps) * w per row, odd widths', () => {
  for (const n of [1, 7, 130]) {
    const rows = 3, eps = 1e-6;
    const x = random(rows * n, `x${n}`), w = random(n, `w${n}`, 1);
    const y = kernelOps.rmsNorm(x, w, eps, rows);
    for (let r = 0; r < rows; ++r) {
      let ss = 0;
      for (let i = 0; i < n; ++i) ss += x[r * n + i] ** 2;
      const inv = 1 / Math.sqrt(ss / n + eps);
      for (let i = 0; i < n; ++i) assert.ok(Math.abs(y[r * n + i] - w[i] * x[r * n + i] * inv) <= 1e-6 * (1 + Math.abs(y[r * n + i])));
    }
  }
});

test('rope: rotate-half pairs (i, i + d/2) by position * invFreq, scaled', () => {
  const heads = 3, half = 5, scaling = 1.25;
  const x = random(heads * 2 * half, 'rope');
  const inv = Float32Array.from({ length: half }, (_, i) => 1 / 10000 ** ((2 * i) / (2 * half)));
  for (const position of [0, 1, 17, 4093]) {
    const y = kernelOps.rope(x, heads, inv, scaling, position);
    for (let h = 0; h < heads; ++h)
      for (let i = 0; i < half; ++i) {
        const a = x[h * 2 * half + i], b = x[h * 2 * half + half + i];
        const angle = Math.fround(position * inv[i]);
        const c = Math.cos(angle) * scaling, s = Math.sin(angle) * scaling;
        assert.ok(Math.abs(y[h * 2 * half + i] - (a * c - b * s)) < 1e-6);
        assert.ok(Math.abs(y[h * 2 * half + half + i] - (b * c + a * s)) < 1e-6);
      }
  }
  assert.deepEqual(kernelOps.rope(x, heads, inv, 1, 0), x);
});
