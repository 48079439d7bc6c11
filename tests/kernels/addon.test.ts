import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpuFeatures } from '../../kernels/cpu-features.ts';

test('addon loads and reports the CPU features /proc/cpuinfo lists', () => {
  const f = cpuFeatures();
  const flags = new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? []);
  assert.equal(f.avx2, flags.has('avx2'));
  assert.equal(f.fma, flags.has('fma'));
  assert.equal(f.avx512f, flags.has('avx512f'));
  assert.equal(f.avx512bf16, flags.has('avx512_bf16'));
  assert.equal(f.avx512vnni, flags.has('avx512_vnni'));
});
