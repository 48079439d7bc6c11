// The counter-based RNG (Philox4x32-10 against the Random123 known-answer vectors, then
// determinism and independence over seed / choice / position) and the statistical check that
// seeded sampling draws from the distribution the filters define.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterUniform, sampleLogits, type SamplingOptions } from '../../kernels/sampling.ts';

function philox4x32_10(counter: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = counter.map(BigInt);
  let [k0, k1] = key.map(BigInt);
  const mask = 0xffffffffn;
  for (let round = 0; round < 10; ++round) {
    const p0 = 0xd2511f53n * c0;
    const p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & mask, (p0 >> 32n) ^ c3 ^ k1, p0 & mask];
    k0 = (k0 + 0x9e3779b9n) & mask;
    k1 = (k1 + 0xbb67ae85n) & mask;
  }
  return [c0, c1, c2, c3].map(Number);
}

function referenceUniform(seed: bigint, choice: number, position: number, lane: number): number {
  const key = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  const [a, b] = philox4x32_10([position, choice, lane, 0], key);
  return ((a >>> 5) * 67108864 + (b >>> 6)) / 2 ** 53;
}

/** Upper critical value of chi-square with `df` degrees of freedom at p = 0.001 (Wilson-Hilferty). */
function chiSquareCritical(df: number): number {
  const z = 3.09;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/** Chi-square statistic of counts against expected probabilities, pooling bins expected < 5. */
function chiSquare(counts: number[], probs: number[], n: number): { stat: number; df: number } {
  let stat = 0;
  let bins = 0;
  let pooledCount = 0;
  let pooledExpected = 0;
  probs.forEach((p, i) => {
    if (p * n < 5) {
      pooledCount += counts[i];
      pooledExpected += p * n;
      return;
    }
    stat += (counts[i] - p * n) ** 2 / (p * n);
    bins++;
  });
  if (pooledExpected > 0) {
    stat += (pooledCount - pooledExpected) ** 2 / Math.max(pooledExpected, 1e-9);
    bins++;
  }
  return { stat, df: bins - 1 };
}

function correlation(xs: number[], ys: number[]): number {
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i] - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

test('Philox4x32-10 reproduces the Random123 known-answer vectors', () => {
  assert.deepEqual(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  assert.deepEqual(
    philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]),
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  );
  assert.deepEqual(
    philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
});

test('the native uniform is Philox keyed by the seed with counter (position, choice, lane)', () => {
  for (const seed of [0n, 1n, 0xffffffffn, 0x123456789abcdefn, 2n ** 64n - 1n]) {
    for (const [choice, position, lane] of [[0, 0, 0], [3, 17, 0], [0, 2 ** 31 - 1, 1], [2 ** 32 - 1, 5, 0]]) {
      const u = counterUniform(seed, choice, position, lane);
      assert.equal(u, referenceUniform(seed, choice, position, lane));
      assert.ok(u >= 0 && u < 1);
      assert.equal(counterUniform(seed, choice, position, lane), u, 'pure function');
    }
  }
  assert.equal(counterUniform(7, 0, 0), counterUniform(7n, 0, 0));
});

test('uniforms are uniform and independent across position, choice and seed', () => {
  const n = 20000;
  const byPosition = Array.from({ length: n }, (_, p) => counterUniform(42n, 0, p));
  const bins = new Array<number>(20).fill(0);
  for (const u of byPosition) bins[Math.floor(u * 20)]++;
  const { stat, df } = chiSquare(bins, new Array<number>(20).fill(1 / 20), n);
  assert.ok(stat < chiSquareCritical(df), `chi-square ${stat.toFixed(1)} over ${df} df`);
  const neighbours: [string, (p: number) => number][] = [
    ['next position', (p) => counterUniform(42n, 0, p + 1)],
    ['next choice', (p) => counterUniform(42n, 1, p)],
    ['next seed', (p) => counterUniform(43n, 0, p)],
    ['seed + 2^32', (p) => counterUniform(42n + 2n ** 32n, 0, p)],
    ['lane 1', (p) => counterUniform(42n, 0, p, 1)],
  ];
  for (const [what, other] of neighbours) {
    const r = correlation(byPosition, byPosition.map((_, p) => other(p)));
    assert.ok(Math.abs(r) < 0.035, `correlation with ${what}: ${r.toFixed(4)}`); // 5 sigma at n = 20000
  }
});

test('a seeded request samples the same tokens alone, in any batch and any arrival order', () => {
  const vocab = 97;
  const logits = Float32Array.from({ length: vocab }, (_, i) => Math.sin(i * 1.7) * 2);
  const requests: SamplingOptions[] = [
    { temperature: 1, seed: 11n },
    { temperature: 0.8, topK: 30, topP: 0.9, seed: 11n, choiceIndex: 1 },
    { temperature: 1.2, minP: 0.1, seed: 12n },
  ];
  const positions = Array.from({ length: 40 }, (_, i) => 100 + i);
  const alone = requests.map((o) => positions.map((p) => sampleLogits(logits, o, p).token));
  // interleave all requests in a shuffled order, as a batch with other traffic would
  const order = positions.flatMap((p) => requests.map((_, r) => [r, p] as const)).sort((a, b) => ((a[0] * 7919 + a[1] * 104729) % 613) - ((b[0] * 7919 + b[1] * 104729) % 613));
  const batched = requests.map(() => new Map<number, number>());
  for (const [r, p] of order) {
    sampleLogits(logits, { temperature: 1, seed: 999n }, p); // unrelated traffic in between
    batched[r].set(p, sampleLogits(logits, requests[r], p).token);
  }
  requests.forEach((_, r) => assert.deepEqual(positions.map((p) => batched[r].get(p)), alone[r]));
  assert.notDeepEqual(alone[0], alone[1], 'different choice index and filters give a different stream');
  assert.notDeepEqual(alone[0], positions.map((p) => sampleLogits(logits, { temperature: 1, seed: 13n }, p).token));
});

function softmax(logits: number[], temperature: number): number[] {
  const max = Math.max(...logits);
  const w = logits.map((l) => Math.exp((l - max) / temperature));
  const sum = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / sum);
}

function sampledCounts(logits: Float32Array, o: SamplingOptions, n: number): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; ++i) counts[sampleLogits(logits, { ...o, seed: BigInt(i % 16) }, Math.floor(i / 16)).token]++;
  return counts;
}

test('seeded draws follow softmax(logits / temperature) (chi-square, fixed seeds)', () => {
  const vocab = 64;
  const logits = Array.from({ length: vocab }, (_, i) => Math.cos(i * 0.9) * 2.5 + (i % 5) * 0.3);
  const n = 20000;
  const counts = sampledCounts(Float32Array.from(logits), { temperature: 1.3 }, n);
  const { stat, df } = chiSquare(counts, softmax(Array.from(Float32Array.from(logits)), 1.3), n);
  assert.ok(stat < chiSquareCritical(df), `chi-square ${stat.toFixed(1)} over ${df} df (critical ${chiSquareCritical(df).toFixed(1)})`);
});

test('min_p, top_k and top_p draws follow the renormalised survivors and never leave them', () => {
  const vocab = 50;
  const logits = Float32Array.from({ length: vocab }, (_, i) => Math.sin(i * 2.3) * 3);
  const temperature = 0.8;
  // survivors by hand: min_p relative to the top probability, then the 20 largest, then the
  // smallest prefix holding 90% of their renormalised mass
  const p = softmax(Array.from(logits), temperature);
  const pMax = Math.max(...p);
  let kept = [...p.keys()].filter((i) => p[i] >= 0.02 * pMax).sort((a, b) => p[b] - p[a] || a - b).slice(0, 20);
  const keptMass = kept.reduce((s, i) => s + p[i], 0);
  let before = 0;
  kept = kept.filter((i) => {
    const keep = before < 0.9 * keptMass;
    before += p[i];
    return keep;
  });
  const survivorMass = kept.reduce((s, i) => s + p[i], 0);
  const expected = p.map((x, i) => (kept.includes(i) ? x / survivorMass : 0));
  assert.ok(kept.length > 5 && kept.length < 20, `${kept.length} survivors`);

  const n = 20000;
  const counts = sampledCounts(logits, { temperature, minP: 0.02, topK: 20, topP: 0.9 }, n);
  counts.forEach((c, i) => assert.ok(expected[i] > 0 || c === 0, `token ${i} is filtered out but was sampled ${c} times`));
  const { stat, df } = chiSquare(
    kept.map((i) => counts[i]),
    kept.map((i) => expected[i]),
    n,
  );
  assert.ok(stat < chiSquareCritical(df), `chi-square ${stat.toFixed(1)} over ${df} df`);
});
