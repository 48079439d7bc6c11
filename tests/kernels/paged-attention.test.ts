// Paged attention against a float64 reference: scattered block tables, GQA, odd block sizes,
// causal and tree masks; a token's output is bit-identical alone, batched and however its prompt
// was chunked. bf16 caches with head_dim a multiple of 32 take the bf16-dot kernel on CPUs with
// AVX512_BF16, which rounds q to bf16 first (its reference rounds q the same way) and the softmax
// weights before the weighted V sum (a bounded error, allowed for in the tolerance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOps, type AttentionSequenceInput, type PagedAttentionInput } from '../../kernels/kernel-ops.ts';
import { kernelPaths } from '../../kernels/cpu-features.ts';
import { fillUniform } from '../../worker/model/seeded-weights.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../worker/model/dtype.ts';
import { passesWith } from '../helpers/rerun-with-env.ts';

type Seq = AttentionSequenceInput;
type KvDtype = 'float32' | 'bfloat16' | 'float16';

interface Geometry {
  qHeads: number;
  kvHeads: number;
  headDim: number;
  blockSize: number;
  numBlocks: number;
}

function random(n: number, name: string): Float32Array {
  const out = new Float32Array(n);
  fillUniform(out, 11, name, 0, 1);
  return out;
}

const roundedToBf16 = (x: Float32Array): Float32Array => x.map((v) => bf16BitsToF32(f32ToBf16Bits(v)));

/** Seeded K/V caches of one geometry (f32, and as stored in 16-bit dtypes), the reference and the kernel. */
class Fixture {
  readonly k: Float32Array;
  readonly v: Float32Array;

  constructor(readonly g: Geometry, name = '') {
    const n = g.numBlocks * g.blockSize * g.kvHeads * g.headDim;
    this.k = random(n, `k${name}`);
    this.v = random(n, `v${name}`);
  }

  /** The cache layout, [numBlocks, kvHeads, blockSize, headDim]: where slot `slot`'s row of `head` starts. */
  cacheRow(slot: number, head: number): number {
    const { blockSize, kvHeads, headDim } = this.g;
    return ((Math.floor(slot / blockSize) * kvHeads + head) * blockSize + (slot % blockSize)) * headDim;
  }

  /** A sequence of `context` cached tokens plus `count` step tokens over the given blocks. */
  sequence(blocks: number[], context: number, count: number, treeMask?: Uint8Array): Seq {
    const bs = this.g.blockSize;
    const table = Int32Array.from(blocks);
    const slot = (p: number) => table[Math.floor(p / bs)] * bs + (p % bs);
    // Step rows live at the slots after the context (a tree's rows share positions, not slots).
    const slots = Int32Array.from({ length: count }, (_, j) => slot(context + j));
    return { numTokens: count, contextLen: context, blockTable: table, slots, treeMask };
  }

  q(seqs: Seq[], name: string): Float32Array {
    return random(seqs.reduce((n, s) => n + s.numTokens, 0) * this.g.qHeads * this.g.headDim, name);
  }

  /** The caches as the kernel holds them for `dtype`, and widened back to f32 for the reference. */
  caches(dtype: KvDtype): { kCache: Float32Array | Uint16Array; vCache: Float32Array | Uint16Array; k: Float32Array; v: Float32Array } {
    if (dtype === 'float32') return { kCache: this.k, vCache: this.v, k: this.k, v: this.v };
    const [narrow, widen] = dtype === 'bfloat16' ? [f32ToBf16Bits, bf16BitsToF32] : [f32ToF16Bits, f16BitsToF32];
    const k16 = Uint16Array.from(this.k, narrow), v16 = Uint16Array.from(this.v, narrow);
    return { kCache: k16, vCache: v16, k: Float32Array.from(k16, widen), v: Float32Array.from(v16, widen) };
  }

  /** Whether `dtype` takes the bf16-dot kernel here (kernels/src/attention_bf16dot.cc's rule). */
  bf16Dot(dtype: KvDtype): boolean {
    return dtype === 'bfloat16' && this.g.headDim % 32 === 0 && this.g.headDim <= 128 && kernelPaths().bf16Dot;
  }

  run(seqs: Seq[], q: Float32Array, threads = 2, dtype: KvDtype = 'float32'): Float32Array {
    const { qHeads, kvHeads, headDim, blockSize } = this.g;
    const { kCache, vCache } = this.caches(dtype);
    const input: PagedAttentionInput = { q, qHeads, kvHeads, headDim, blockSize, kCache, vCache, kvDtype: dtype, sequences: seqs, threads };
    return kernelOps.pagedAttention(input);
  }

  reference(qIn: Float32Array, seqs: Seq[], dtype: KvDtype = 'float32'): Float64Array {
    const { qHeads, kvHeads, headDim, blockSize } = this.g;
    const { k, v } = this.caches(dtype);
    const q = this.bf16Dot(dtype) ? roundedToBf16(qIn) : qIn;
    const out = new Float64Array(q.length);
    const group = qHeads / kvHeads;
    let row = 0;
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
            for (let e = 0; e < headDim; ++e) d += q[qo + e] * k[this.cacheRow(sl, kvh) + e];
            return d / Math.sqrt(headDim);
          });
          const max = Math.max(...scores);
          const w = scores.map((x) => Math.exp(x - max));
          const sum = w.reduce((a, b) => a + b, 0);
          keys.forEach((sl, kk) => {
            for (let e = 0; e < headDim; ++e) out[qo + e] += (w[kk] / sum) * v[this.cacheRow(sl, kvh) + e];
          });
        }
      }
    }
    return out;
  }
}

function assertClose(got: Float32Array, want: Float64Array, tolerance = 2e-6, what = ''): void {
  for (let i = 0; i < got.length; ++i) assert.ok(Math.abs(got[i] - want[i]) < tolerance, `${what}[${i}] ${got[i]} vs ${want[i]}`);
}

const small = new Fixture({ qHeads: 6, kvHeads: 2, headDim: 24, blockSize: 5, numBlocks: 40 });
const tree = Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1]); // root; two children; a grandchild of the first

test('pagedAttention: prefill, decode, chunk and tree rows over scattered blocks match the reference', () => {
  const f = small;
  const seqs = [
    f.sequence([7, 3, 19], 0, 12), // prefill
    f.sequence([30, 2, 11, 5], 17, 1), // decode with 17 cached
    f.sequence([8, 1, 26, 13], 9, 6), // a prefill chunk after 9 cached
    f.sequence([22, 4, 9], 6, 4, tree), // tree verification
  ];
  const q = f.q(seqs, 'q');
  assertClose(f.run(seqs, q), f.reference(q, seqs));
  assertClose(f.run(seqs, q, 1), f.reference(q, seqs));
});

test('pagedAttention: bf16 and f16 caches match the reference on the values they hold', () => {
  const f = small;
  const seqs = [f.sequence([7, 3, 19], 0, 12), f.sequence([30, 2, 11, 5], 17, 1), f.sequence([22, 4, 9], 6, 4, tree)];
  const q = f.q(seqs, 'q16');
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const got = f.run(seqs, q, 2, dtype);
    assertClose(got, f.reference(q, seqs, dtype), 2e-6, dtype);
    assert.notDeepEqual(got, f.run(seqs, q), `${dtype}: rounding the cache changes the output a little`);
  }
  const { qHeads, kvHeads, headDim, blockSize } = f.g;
  assert.throws(
    () => kernelOps.pagedAttention({ q, qHeads, kvHeads, headDim, blockSize, kCache: f.k, vCache: f.v, kvDtype: 'bfloat16', sequences: seqs, threads: 1 }),
    /Uint16Arrays/,
  );
});

test('pagedAttention: a sequence gives bit-identical output alone and in a batch', () => {
  const f = small;
  const a = f.sequence([7, 3, 19], 4, 7), b = f.sequence([30, 2, 11, 5], 17, 1);
  const qa = f.q([a], 'qa'), qb = f.q([b], 'qb');
  const both = f.run([a, b], Float32Array.from([...qa, ...qb]), 2);
  assert.deepEqual(f.run([b], qb, 1), both.slice(qa.length));
  assert.deepEqual(f.run([a], qa, 3), both.slice(0, qa.length));
});

test('pagedAttention: malformed geometry is an error', () => {
  const f = small;
  const s = f.sequence([7], 0, 2);
  assert.throws(() => f.run([{ ...s, blockTable: Int32Array.of(99) }], random(2 * 6 * 24, 'e')), /block out of range/);
  assert.throws(() => f.run([s], random(3, 'e')), /q must be/);
});

// Model-like geometries, where bf16 caches take the bf16-dot kernel: small's GQA 7 at head_dim
// 64, M2-32B's GQA 5 at head_dim 128, and head_dim 32 with an odd block size.
const modelLike = [
  new Fixture({ qHeads: 14, kvHeads: 2, headDim: 64, blockSize: 16, numBlocks: 24 }, '64'),
  new Fixture({ qHeads: 10, kvHeads: 2, headDim: 128, blockSize: 16, numBlocks: 24 }, '128'),
  new Fixture({ qHeads: 6, kvHeads: 2, headDim: 32, blockSize: 5, numBlocks: 60 }, '32'),
];

/** Blocks [from, from + n) in a scattered order. */
const blocks = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + ((i * 7) % n));

test('pagedAttention: bf16 caches at head_dims 32, 64 and 128 match the reference (prompt tiles, long keys, trees)', () => {
  for (const f of modelLike) {
    const bs = f.g.blockSize;
    const span = (tokens: number) => Math.ceil(tokens / bs);
    const seqs = [
      f.sequence(blocks(0, span(70)), 0, 70), // a prompt: several token tiles, key blocks with tails
      f.sequence(blocks(span(70), span(46)), 45, 1), // decode after 45 cached
      f.sequence(blocks(span(70) + span(46), span(41)), 30, 11), // a chunk after 30 cached
      f.sequence(blocks(span(70) + span(46) + span(41), span(40)), 36, 4, tree), // tree verification
    ];
    const q = f.q(seqs, `q${f.g.headDim}`);
    for (const dtype of ['bfloat16', 'float32'] as const) {
      const want = f.reference(q, seqs, dtype);
      // The bf16-dot kernel also rounds the softmax weights to bf16 for the weighted V sum: as they
      // sum to 1, that moves an output by at most 2^-9 * max |v| (on top of f32 accumulation).
      const tolerance = f.bf16Dot(dtype) ? 2 ** -9 * Math.max(...f.caches(dtype).v.map(Math.abs)) + 1e-5 : 1e-5;
      for (const threads of [1, 3]) assertClose(f.run(seqs, q, threads, dtype), want, tolerance, `d=${f.g.headDim} ${dtype} T=${threads}`);
    }
  }
});

test('pagedAttention: bf16 caches give bit-identical rows alone, batched and however the prompt was chunked', () => {
  for (const f of modelLike) {
    const n = 40, cut = 23;
    const table = blocks(0, Math.ceil(n / f.g.blockSize));
    const whole = f.sequence(table, 0, n);
    const q = f.q([whole], `chunk${f.g.headDim}`);
    const rowFloats = f.g.qHeads * f.g.headDim;
    const all = f.run([whole], q, 2, 'bfloat16');
    // The same prompt as a first chunk and a second one over the cached first (the cache already holds every row).
    const first = f.run([f.sequence(table, 0, cut)], q.slice(0, cut * rowFloats), 1, 'bfloat16');
    const second = f.run([f.sequence(table, cut, n - cut)], q.slice(cut * rowFloats), 3, 'bfloat16');
    assert.deepEqual(first, all.slice(0, cut * rowFloats));
    assert.deepEqual(second, all.slice(cut * rowFloats));
    // One decode token alone and behind another sequence's prompt.
    const other = f.sequence(blocks(table.length, 4), 0, 9);
    const decode = f.sequence(table, n - 1, 1);
    const qOther = f.q([other], 'other'), qLast = q.slice((n - 1) * rowFloats);
    const batched = f.run([other, decode], Float32Array.from([...qOther, ...qLast]), 2, 'bfloat16');
    assert.deepEqual(batched.slice(qOther.length), all.slice((n - 1) * rowFloats));
  }
});

test('pagedAttention: bf16 caches pass these tests on the widened f32 path too (M2_KERNELS_BF16_DOT=0)', { skip: !kernelPaths().bf16Dot }, () => {
  passesWith(import.meta.url, { M2_KERNELS_BF16_DOT: '0' });
});
