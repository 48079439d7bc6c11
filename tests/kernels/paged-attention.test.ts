// Paged attention against a float64 reference: scattered block tables, GQA, odd block sizes,
// causal and tree masks; a token's output is bit-identical alone and batched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOps, type AttentionSequenceInput, type PagedAttentionInput } from '../../kernels/kernel-ops.ts';
import { fillUniform } from '../../worker/model/seeded-weights.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../worker/model/dtype.ts';

const qHeads = 6, kvHeads = 2, headDim = 24, blockSize = 5, numBlocks = 40;
const stride = kvHeads * headDim;

function random(n: number, name: string): Float32Array {
  const out = new Float32Array(n);
  fillUniform(out, 11, name, 0, 1);
  return out;
}

/** The cache layout, [numBlocks, kvHeads, blockSize, headDim]: where slot `slot`'s row of `head` starts. */
function cacheRow(slot: number, head: number): number {
  return ((Math.floor(slot / blockSize) * kvHeads + head) * blockSize + (slot % blockSize)) * headDim;
}

const kCache = random(numBlocks * blockSize * stride, 'k');
const vCache = random(numBlocks * blockSize * stride, 'v');

type Seq = AttentionSequenceInput;

/** A sequence of `context` cached tokens plus `count` step tokens over the given blocks. */
function sequence(blocks: number[], context: number, count: number, treeMask?: Uint8Array): Seq {
  const table = Int32Array.from(blocks);
  const slot = (p: number) => table[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
  // Step rows live at the slots after the context (a tree's rows share positions, not slots).
  const slots = Int32Array.from({ length: count }, (_, j) => slot(context + j));
  return { numTokens: count, contextLen: context, blockTable: table, slots, treeMask };
}

function reference(q: Float32Array, seqs: Seq[], cache = { k: kCache, v: vCache }): Float64Array {
  const out = new Float64Array(q.length);
  let row = 0;
  const group = qHeads / kvHeads;
  for (const s of seqs) {
    const slot = (p: number) => s.blockTable[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
    for (let i = 0; i < s.numTokens; ++i, ++row) {
      const keys: number[] = [];
      for (let p = 0; p < s.contextLen; ++p) keys.push(slot(p));
      for (let j = 0; j < s.numTokens; ++j) if (s.treeMask ? s.treeMask[i * s.numTokens + j] : j <= i) keys.push(s.slots[j]);
      for (let h = 0; h < qHeads; ++h) {
        const kvh = Math.floor(h / group);
        const qo = (row * qHeads + h) * headDim;
        const scores = keys.map((sl) => {
          let d = 0;
          for (let e = 0; e < headDim; ++e) d += q[qo + e] * cache.k[cacheRow(sl, kvh) + e];
          return d / Math.sqrt(headDim);
        });
        const max = Math.max(...scores);
        const w = scores.map((x) => Math.exp(x - max));
        const sum = w.reduce((a, b) => a + b, 0);
        keys.forEach((sl, k) => {
          for (let e = 0; e < headDim; ++e) out[qo + e] += (w[k] / sum) * cache.v[cacheRow(sl, kvh) + e];
        });
      }
    }
  }
  return out;
}

function run(seqs: Seq[], q: Float32Array, threads = 2): Float32Array {
  const input: PagedAttentionInput = { q, qHeads, kvHeads, headDim, blockSize, kCache, vCache, sequences: seqs, threads };
  return kernelOps.pagedAttention(input);
}

function assertClose(got: Float32Array, want: Float64Array): void {
  for (let i = 0; i < got.length; ++i) assert.ok(Math.abs(got[i] - want[i]) < 2e-6, `[${i}] ${got[i]} vs ${want[i]}`);
}

const tree = Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1]); // root; two children; a grandchild of the first

test('pagedAttention: prefill, decode, chunk and tree rows over scattered blocks match the reference', () => {
  const seqs = [
    sequence([7, 3, 19], 0, 12), // prefill
    sequence([30, 2, 11, 5], 17, 1), // decode with 17 cached
    sequence([8, 1, 26, 13], 9, 6), // a prefill chunk after 9 cached
    sequence([22, 4, 9], 6, 4, tree), // tree verification
  ];
  const rows = seqs.reduce((n, s) => n + s.numTokens, 0);
  const q = random(rows * qHeads * headDim, 'q');
  assertClose(run(seqs, q), reference(q, seqs));
  assertClose(run(seqs, q, 1), reference(q, seqs));
});

test('pagedAttention: bf16 and f16 caches match the reference on the values they hold', () => {
  const seqs = [sequence([7, 3, 19], 0, 12), sequence([30, 2, 11, 5], 17, 1), sequence([22, 4, 9], 6, 4, tree)];
  const rows = seqs.reduce((n, s) => n + s.numTokens, 0);
  const q = random(rows * qHeads * headDim, 'q16');
  for (const [kvDtype, narrow, widen] of [['bfloat16', f32ToBf16Bits, bf16BitsToF32], ['float16', f32ToF16Bits, f16BitsToF32]] as const) {
    const k16 = Uint16Array.from(kCache, narrow), v16 = Uint16Array.from(vCache, narrow);
    const got = kernelOps.pagedAttention({ q, qHeads, kvHeads, headDim, blockSize, kCache: k16, vCache: v16, kvDtype, sequences: seqs, threads: 2 });
    // The reference reads the same caches widened back to f32.
    const widened = { k: Float32Array.from(k16, widen), v: Float32Array.from(v16, widen) };
    assertClose(got, reference(q, seqs, widened));
    assert.notDeepEqual(got, run(seqs, q), `${kvDtype}: rounding the cache changes the output a little`);
  }
  assert.throws(
    () => kernelOps.pagedAttention({ q, qHeads, kvHeads, headDim, blockSize, kCache, vCache, kvDtype: 'bfloat16', sequences: seqs, threads: 1 }),
    /Uint16Arrays/,
  );
});

test('pagedAttention: a sequence gives bit-identical output alone and in a batch', () => {
  const a = sequence([7, 3, 19], 4, 7), b = sequence([30, 2, 11, 5], 17, 1);
  const qa = random(7 * qHeads * headDim, 'qa'), qb = random(1 * qHeads * headDim, 'qb');
  const both = run([a, b], Float32Array.from([...qa, ...qb]), 2);
  assert.deepEqual(run([b], qb, 1), both.slice(qa.length));
  assert.deepEqual(run([a], qa, 3), both.slice(0, qa.length));
});

test('pagedAttention: malformed geometry is an error', () => {
  const s = sequence([7], 0, 2);
  assert.throws(() => run([{ ...s, blockTable: Int32Array.of(99) }], random(2 * qHeads * headDim, 'e')), /block out of range/);
  assert.throws(() => run([s], random(3, 'e')), /q must be/);
});
