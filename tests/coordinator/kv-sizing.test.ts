// KV cache sizing: the element type --kv-cache-dtype resolves to, and the blocks a budget holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvBytesPerBlock, planKvCache, resolveKvCacheDtype } from '../../coordinator/runtime/kv-sizing.ts';
import { loadModelConfig } from '../../worker/model/config.ts';
import { makeModel } from '../../worker/model/make-model.ts';

const config = loadModelConfig(makeModel({ preset: 'micro' }));

test('--kv-cache-dtype auto: the checkpoint dtype on CPU ranks, f32 where ranks may be CUDA ones', () => {
  for (const torchDtype of ['bfloat16', 'float16', 'float32'] as const) {
    const c = { ...config, torchDtype };
    assert.equal(resolveKvCacheDtype('auto', c, 'cpu'), { bfloat16: 'bf16', float16: 'f16', float32: 'f32' }[torchDtype]);
    assert.equal(resolveKvCacheDtype('auto', c, 'cuda'), 'f32');
    assert.equal(resolveKvCacheDtype('auto', c, undefined), 'f32');
  }
  assert.equal(resolveKvCacheDtype('bfloat16', config, 'cuda'), 'bf16', 'an explicit choice is passed on (a CUDA rank refuses it)');
  assert.equal(resolveKvCacheDtype('float32', { ...config, torchDtype: 'bfloat16' }, 'cpu'), 'f32');
});

test('a 16-bit KV cache takes half the bytes per block, so a budget holds twice the blocks', () => {
  const f32 = kvBytesPerBlock(config, 1, 16, 'f32');
  assert.equal(f32, 2 * config.numLayers * config.numKvHeads * config.headDim * 16 * 4);
  assert.equal(kvBytesPerBlock(config, 1, 16, 'bf16'), f32 / 2);
  assert.equal(kvBytesPerBlock(config, 1, 16, 'f16'), f32 / 2);
  const budget = 100 * f32;
  assert.equal(planKvCache(config, 1, 16, budget, 'f32').numKvBlocks, 100);
  assert.equal(planKvCache(config, 1, 16, budget, 'bf16').numKvBlocks, 200);
});
