// The native sampler against a plain JS reference of the documented order of operations
// (kernels/src/sampling.h), plus masks, logprobs, penalty history and argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  counterUniform,
  penaltyStateOf,
  PenaltyState,
  sampleLogits,
  type SampledToken,
  type SamplingOptions,
} from '../../kernels/sampling.ts';
import { seededRandom } from '../helpers/seeded-random.ts';


function randomLogits(rand: () => number, vocab: number, tied: boolean): Float32Array {
  const out = new Float32Array(vocab);
  for (let i = 0; i < vocab; ++i) {
    const x = (rand() + rand() + rand() - 1.5) * 6;
    out[i] = tied ? Math.round(x * 2) / 2 : x;
  }
  return out;
}

interface History {
  tokens: number[];
  promptLen: number;
}

const f = Math.fround;

function isAllowed(o: SamplingOptions, id: number): boolean {
  return !o.allowedBitmask || ((o.allowedBitmask[id >>> 5] >>> (id & 31)) & 1) === 1;
}

/** The documented pipeline, written for clarity (full sorts, doubles for exp). */
function referenceSample(logits: Float32Array, o: SamplingOptions, position: number, h?: History): SampledToken {
  const vocab = logits.length;
  let rawMax = -Infinity;
  for (const v of logits) rawMax = Math.max(rawMax, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - rawMax);
  const lse = Math.log(sum) + rawMax;
  const byRaw = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b);
  const nTop = Math.min(Math.max(o.logprobs ?? -1, 0), vocab);
  const top = byRaw.slice(0, nTop).map((id) => ({ id, logprob: logits[id] - lse }));

  const l = Float32Array.from(logits);
  for (const [id, b] of o.logitBias ?? []) l[id] = f(l[id] + f(b));
  for (const id of Array.from(o.bannedIds ?? [])) l[id] = -Infinity;
  if (h) {
    const rp = f(o.repetitionPenalty ?? 1);
    const seen = new Map<number, { prompt: number; output: number }>();
    h.tokens.forEach((t, pos) => {
      const c = seen.get(t) ?? { prompt: 0, output: 0 };
      if (pos < h.promptLen) c.prompt++;
      else c.output++;
      seen.set(t, c);
    });
    for (const [id, c] of seen) {
      let v = l[id];
      v = v > 0 ? f(v / rp) : f(v * rp);
      v = f(v - f(f(o.frequencyPenalty ?? 0) * c.output));
      if (c.output > 0) v = f(v - f(o.presencePenalty ?? 0));
      l[id] = v;
    }
  }
  const allowed = [...l.keys()].filter((id) => isAllowed(o, id) && l[id] > -Infinity);
  if (allowed.length === 0) throw new Error('nothing to sample');
  const max = Math.max(...allowed.map((id) => l[id]));
  let token: number;
  const temperature = f(o.temperature ?? 0);
  if (temperature === 0) {
    token = allowed.find((id) => l[id] === max)!;
  } else {
    const weightOf = (id: number): number => {
      const x = (l[id] - max) / temperature;
      return x < -87 ? 0 : Math.exp(x);
    };
    let kept = allowed
      .map((id) => ({ id, w: weightOf(id) }))
      .filter((c) => c.w > 0 && c.w >= f(o.minP ?? 0))
      .sort((a, b) => b.w - a.w || a.id - b.id);
    const total = kept.reduce((s, c) => s + c.w, 0);
    const topK = o.topK ?? 0;
    if (topK > 0) kept = kept.slice(0, topK);
    const topP = f(o.topP ?? 1);
    if (topP < 1) {
      const limit = topP * (topK > 0 && topK < vocab ? kept.reduce((s, c) => s + c.w, 0) : total);
      let before = 0;
      let j = 0;
      for (; j < kept.length && before < limit; ++j) before += kept[j].w;
      kept = kept.slice(0, j);
    }
    kept.sort((a, b) => a.id - b.id);
    const target = counterUniform(o.seed ?? 0, o.choiceIndex ?? 0, position) * kept.reduce((s, c) => s + c.w, 0);
    let cum = 0;
    token = kept[kept.length - 1].id;
    for (const c of kept) {
      cum += c.w;
      if (cum > target) {
        token = c.id;
        break;
      }
    }
  }
  return { token, logprob: (o.logprobs ?? -1) >= 0 ? logits[token] - lse : null, top };
}

function assertSameSample(actual: SampledToken, expected: SampledToken, what: string): void {
  assert.equal(actual.token, expected.token, `${what}: token`);
  if (expected.logprob === null) assert.equal(actual.logprob, null, what);
  else assert.ok(Math.abs(actual.logprob! - expected.logprob) < 1e-4, `${what}: logprob ${actual.logprob} vs ${expected.logprob}`);
  assert.deepEqual(actual.top.map((t) => t.id), expected.top.map((t) => t.id), `${what}: top ids`);
  actual.top.forEach((t, j) => assert.ok(Math.abs(t.logprob - expected.top[j].logprob) < 1e-4, `${what}: top logprob ${j}`));
}

function bitmask(vocab: number, allowed: (id: number) => boolean): Uint32Array {
  const words = new Uint32Array(Math.ceil(vocab / 32));
  for (let id = 0; id < vocab; ++id) if (allowed(id)) words[id >>> 5] |= 1 << (id & 31);
  return words;
}

function randomOptions(rand: () => number, vocab: number): SamplingOptions {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const o: SamplingOptions = {
    temperature: pick([0, 0, 0.3, 0.7, 1, 1.6]),
    topK: pick([0, 0, 1, 3, 17, vocab, vocab + 4]),
    topP: pick([1, 1, 0.93, 0.71, 0.33]),
    minP: pick([0, 0, 0.05, 0.3]),
    seed: BigInt(Math.floor(rand() * 2 ** 40)),
    choiceIndex: pick([0, 1, 5]),
    logprobs: pick([-1, 0, 1, 5, 20]),
  };
  if (rand() < 0.4) {
    o.repetitionPenalty = pick([1.3, 0.8]);
    o.presencePenalty = pick([0, 0.5, -0.4]);
    o.frequencyPenalty = pick([0, 0.25]);
  }
  if (rand() < 0.3) o.logitBias = new Map([[Math.floor(rand() * vocab), pick([3, -2.5, 40])]]);
  if (rand() < 0.3) o.bannedIds = [Math.floor(rand() * vocab), Math.floor(rand() * vocab)];
  if (rand() < 0.3) o.allowedBitmask = bitmask(vocab, (id) => id % 3 !== 1 || id === 1);
  return o;
}

test('matches the JS reference over odd vocab sizes, ties and every parameter', () => {
  const rand = seededRandom(1234);
  let cases = 0;
  for (const vocab of [1, 2, 7, 33, 257, 1031, 5003]) {
    for (let k = 0; k < 60; ++k) {
      const logits = randomLogits(rand, vocab, k % 3 === 0);
      const o = randomOptions(rand, vocab);
      const historyLen = Math.floor(rand() * 12);
      const tokens = Array.from({ length: historyLen }, () => Math.floor(rand() * vocab));
      const h = { tokens, promptLen: Math.floor(historyLen / 2) };
      const position = historyLen;
      let expected: SampledToken;
      try {
        expected = referenceSample(logits, o, position, h);
      } catch {
        assert.throws(() => sampleLogits(logits, o, position, penaltyStateOf(tokens, h.promptLen)), {
          code: 'ERR_SAMPLING_NO_TOKEN',
        });
        continue;
      }
      const what = `vocab ${vocab} case ${k} ${JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}` : v instanceof Map ? [...v] : v))}`;
      assertSameSample(sampleLogits(logits, o, position, penaltyStateOf(tokens, h.promptLen)), expected, what);
      cases++;
    }
  }
  assert.ok(cases > 350, `compared ${cases} cases`);
});

test('flat rows over a large vocabulary (top-p by selection, not sorting) match the reference', () => {
  const rand = seededRandom(99);
  const vocab = 20011;
  const logits = randomLogits(rand, vocab, false);
  const options: SamplingOptions[] = [
    { temperature: 1, topP: 0.5, seed: 4n },
    { temperature: 2, topP: 0.95, minP: 0.01, seed: 5n },
    { temperature: 1, topK: 3000, topP: 0.8, seed: 6n },
    { temperature: 1, topK: 7000, seed: 7n },
  ];
  for (const o of options) {
    for (let position = 0; position < 6; ++position) {
      assertSameSample(sampleLogits(logits, o, position), referenceSample(logits, o, position), JSON.stringify({ ...o, seed: 0 }));
    }
  }
});

test('greedy breaks ties to the lowest id and ignores the seed', () => {
  const logits = Float32Array.from([1, 3, -2, 3, 3]);
  for (let seed = 0; seed < 5; ++seed) assert.equal(sampleLogits(logits, { seed }, 0).token, 1);
  assert.equal(sampleLogits(logits, { bannedIds: [1] }, 0).token, 3);
});

test('repetition penalty divides positive and multiplies negative logits of prompt and output tokens', () => {
  const logits = Float32Array.from([2, -1, 1.5, -1.5]);
  const history = penaltyStateOf([0, 1], 1); // 0 is prompt, 1 is output
  assert.equal(sampleLogits(logits, { repetitionPenalty: 2 }, 2, history).token, 2); // 2 -> 1 < 1.5
  const negative = Float32Array.from([-1, -2, -3, -1.5]);
  assert.equal(sampleLogits(negative, { repetitionPenalty: 2 }, 2, history).token, 3); // -1 -> -2 < -1.5
  // presence/frequency count output tokens only: the prompt token 0 keeps its logit.
  const flat = Float32Array.from([1, 1.2, 0.5, 0.5]);
  assert.equal(sampleLogits(flat, { presencePenalty: 0.3 }, 2, history).token, 0);
  assert.equal(sampleLogits(flat, { frequencyPenalty: 0.1 }, 2, history).token, 1);
});

test('banned ids and the allowed bitmask are never sampled', () => {
  const rand = seededRandom(77);
  const vocab = 301;
  const mask = bitmask(vocab, (id) => id % 7 === 0);
  for (let position = 0; position < 400; ++position) {
    const logits = randomLogits(rand, vocab, false);
    logits[3] = 50; // the most likely token overall, banned
    logits[10] = 40; // the most likely outside the mask
    const o: SamplingOptions = { temperature: 1.5, bannedIds: [3], seed: 9 };
    const free = sampleLogits(logits, o, position).token;
    assert.notEqual(free, 3);
    const masked = sampleLogits(logits, { ...o, allowedBitmask: mask, logitBias: new Map([[10, 5]]) }, position).token;
    assert.equal(masked % 7, 0, `token ${masked} is outside the mask`);
    assert.equal(sampleLogits(logits, { allowedBitmask: mask }, position).token % 7, 0);
  }
});

test('nothing left to sample is a clear error', () => {
  const logits = Float32Array.from([1, 2, 3]);
  assert.throws(() => sampleLogits(logits, { bannedIds: [0, 1, 2] }, 0), { code: 'ERR_SAMPLING_NO_TOKEN' });
  assert.throws(() => sampleLogits(logits, { temperature: 1, allowedBitmask: new Uint32Array(1) }, 0), {
    code: 'ERR_SAMPLING_NO_TOKEN',
  });
  assert.throws(() => sampleLogits(Float32Array.from([-Infinity, -Infinity]), { temperature: 1 }, 0), {
    code: 'ERR_SAMPLING_NO_TOKEN',
  });
});

test('top_k beyond the vocabulary is the same as no top_k; tiny temperature is argmax', () => {
  const rand = seededRandom(5);
  const logits = randomLogits(rand, 999, false);
  const best = sampleLogits(logits, {}, 0).token;
  for (let position = 0; position < 100; ++position) {
    const o = { temperature: 0.9, seed: 3n };
    assert.equal(sampleLogits(logits, { ...o, topK: 5000 }, position).token, sampleLogits(logits, o, position).token);
    assert.equal(sampleLogits(logits, { temperature: 1e-6, seed: position }, position).token, best);
    assert.equal(sampleLogits(logits, { temperature: 1, topK: 1, seed: position }, position).token, best);
  }
  const tied = Float32Array.from([0, 5, 5, 1]);
  const seen = new Set<number>();
  for (let position = 0; position < 64; ++position) seen.add(sampleLogits(tied, { temperature: 1e-6 }, position).token);
  assert.deepEqual([...seen].sort(), [1, 2]);
});

test('logprobs come from the raw logits and form a distribution', () => {
  const rand = seededRandom(11);
  const logits = randomLogits(rand, 20, false);
  const r = sampleLogits(logits, { logprobs: 20, temperature: 0.5, repetitionPenalty: 1.7, logitBias: new Map([[4, 9]]), seed: 1 }, 3,
    penaltyStateOf([4, 5, 6], 1));
  assert.equal(r.top.length, 20);
  const mass = r.top.reduce((s, t) => s + Math.exp(t.logprob), 0);
  assert.ok(Math.abs(mass - 1) < 1e-5, `probabilities sum to ${mass}`);
  for (let j = 1; j < 20; ++j) assert.ok(r.top[j - 1].logprob >= r.top[j].logprob);
  assert.equal(r.logprob, r.top.find((t) => t.id === r.token)!.logprob);
  assert.equal(sampleLogits(logits, { logprobs: 0 }, 0).top.length, 0);
  assert.equal(sampleLogits(logits, {}, 0).logprob, null);
});

test('PenaltyState: idempotent replay, truncate, prompt/output split, conflicts rejected', () => {
  const s = new PenaltyState(2);
  [7, 8, 7, 9].forEach((t, pos) => s.append(t, pos));
  s.append(7, 2); // replayed position after preemption
  assert.equal(s.length, 4);
  assert.deepEqual(s.countOf(7), { prompt: 1, output: 1 });
  assert.deepEqual(s.countOf(9), { prompt: 0, output: 1 });
  assert.throws(() => s.append(8, 3), { code: 'ERR_PENALTY_HISTORY' });
  assert.throws(() => s.append(8, 6), { code: 'ERR_PENALTY_HISTORY' });
  s.truncate(2); // speculative tokens rejected
  assert.deepEqual(s.countOf(7), { prompt: 1, output: 0 });
  assert.deepEqual(s.countOf(9), { prompt: 0, output: 0 });
  s.append(8, 2);
  assert.deepEqual(s.countOf(8), { prompt: 1, output: 1 });
  assert.equal(s.promptLen, 2);
  // a truncated id no longer penalises
  const logits = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(sampleLogits(logits, { presencePenalty: 2 }, 3, s).token, 9);
  assert.throws(() => new PenaltyState(-1), { code: 'ERR_PENALTY_HISTORY' });
  assert.throws(() => s.append(1.5, 3), /token must be a 32-bit integer/);
});

test('bad arguments give clear errors', () => {
  const logits = new Float32Array(40);
  const bad: [SamplingOptions, RegExp][] = [
    [{ logprobs: 21 }, /logprobs must be in \[-1, 20\]/],
    [{ temperature: -0.5 }, /temperature must be finite and >= 0/],
    [{ topP: 0 }, /top_p must be in \(0, 1\]/],
    [{ topP: 1.5 }, /top_p must be in \(0, 1\]/],
    [{ minP: -0.1 }, /min_p must be in \[0, 1\]/],
    [{ repetitionPenalty: 0 }, /repetition_penalty must be finite and > 0/],
    [{ bannedIds: [40] }, /banned id 40 is outside \[0, 40\)/],
    [{ logitBias: new Map([[-1, 1]]) }, /logit_bias id -1 is outside/],
    [{ logitBias: new Map([[1, NaN]]) }, /logit_bias values must be finite/],
    [{ bannedIds: [1.5] }, /bannedIds must hold 32-bit integer token ids/],
    [{ seed: -1 }, /seed must be in \[0, 2\^64\)/],
    [{ seed: 2n ** 64n }, /seed must be in \[0, 2\^64\)/],
  ];
  for (const [o, message] of bad) assert.throws(() => sampleLogits(logits, o, 0), { code: 'ERR_SAMPLING_PARAMS', message });
  assert.throws(() => sampleLogits(logits, { allowedBitmask: new Uint32Array(1) }, 0), /allowedBitmask must hold ceil\(vocab \/ 32\) words/);
  assert.throws(() => sampleLogits(logits, { choiceIndex: -1 }, 0), /choiceIndex must be an unsigned 32-bit integer/);
  assert.throws(() => sampleLogits(logits, {}, -1), /position must be >= 0/);
  assert.throws(() => sampleLogits(new Float32Array(0), {}, 0), /vocab_size must be > 0/);
  assert.throws(() => sampleLogits(Float32Array.from([1, NaN]), {}, 0), { code: 'ERR_SAMPLING_LOGITS' });
  assert.throws(() => sampleLogits(logits, { repetitionPenalty: 1.2 }, 0, penaltyStateOf([41], 0)), /history token 41 is outside the vocabulary/);
});
