// GPU backend: the parts that run anywhere (CUDA build gate, device selection, NCCL loading and
// unique-id transport, the worker's Load checks), and on a machine with a CUDA build and a GPU
// the forward pass itself against the CPU backend and the HF golden fixtures (TP 1, TP 2 on one
// GPU through the host-staged fallback, NCCL with one rank). Without a GPU those tests are
// skipped with the reason printed; they assert on the device whenever one is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideCudaBuild, type BuildProbe } from '../../kernels/cuda/build-gate.ts';
import {
  createGpuModel, decodeNcclUniqueId, deviceOrdinal, encodeNcclUniqueId, gpuBackend, GpuOptionsError, ncclLibrary,
  ncclUniqueId, resolveDevice, type GpuBackendInfo,
} from '../../kernels/gpu.ts';
import { Communicator } from '../../kernels/collective.ts';
import type { NativeModel, NativeModelLimits } from '../../kernels/model.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { loadShard } from '../../worker/shard/load-shard.ts';
import { KvBlockAllocator } from '../../worker/shard/kv-block-allocator.ts';
import { LocalGenerator, type GenerateRequest, type GenerateResult } from '../../worker/local-generate.ts';
import { WorkerState, WorkerStateError } from '../../worker/server/worker-state.ts';
import type { LoadRequest__Output } from '../../proto/gen/m2/v1/LoadRequest.ts';
import { GOLDEN_MODELS } from '../fixtures/golden/golden-models.ts';

const probe = (over: Partial<BuildProbe> & { env?: BuildProbe['env'] }): BuildProbe => ({
  env: {},
  nvcc: '/usr/local/cuda/bin/nvcc',
  cudaHome: '/usr/local/cuda',
  gpuVisible: false,
  computeCaps: [],
  ...over,
});

test('build gate: nvcc alone does not build CUDA; a visible GPU or M2_BUILD_CUDA=1 does', () => {
  assert.equal(decideCudaBuild(probe({})).enabled, false);
  assert.match(decideCudaBuild(probe({})).reason, /no GPU visible/);
  const onGpu = decideCudaBuild(probe({ gpuVisible: true, computeCaps: ['9.0'] }));
  assert.equal(onGpu.enabled, true);
  assert.deepEqual(onGpu.gencode, ['-gencode=arch=compute_90,code=sm_90', '-gencode=arch=compute_90,code=compute_90']);
  const forced = decideCudaBuild(probe({ env: { M2_BUILD_CUDA: '1', M2_CUDA_ARCHS: '90;80' } }));
  assert.equal(forced.enabled, true);
  assert.equal(forced.cudaHome, '/usr/local/cuda');
  assert.deepEqual(forced.gencode, [
    '-gencode=arch=compute_80,code=sm_80', '-gencode=arch=compute_90,code=sm_90', '-gencode=arch=compute_90,code=compute_90',
  ]);
  assert.equal(decideCudaBuild(probe({ gpuVisible: true, env: { M2_BUILD_CUDA: '0' } })).enabled, false);
  assert.deepEqual(decideCudaBuild(probe({ env: { M2_BUILD_CUDA: '1' } })).gencode.length, 3, 'default archs 80 and 90 + PTX');
});

test('build gate: a GPU without nvcc stays CPU-only; forcing CUDA without a toolkit or with bad values fails clearly', () => {
  const noNvcc = decideCudaBuild(probe({ gpuVisible: true, nvcc: null }));
  assert.equal(noNvcc.enabled, false);
  assert.match(noNvcc.reason, /nvcc was not found/);
  assert.throws(() => decideCudaBuild(probe({ nvcc: null, env: { M2_BUILD_CUDA: '1' } })), /M2_BUILD_CUDA=1 but nvcc was not found/);
  assert.throws(() => decideCudaBuild(probe({ cudaHome: null, env: { M2_BUILD_CUDA: '1' } })), /include\/cuda_runtime.h/);
  assert.throws(() => decideCudaBuild(probe({ env: { M2_BUILD_CUDA: 'yes' } })), /M2_BUILD_CUDA must be 0 or 1/);
  assert.throws(() => decideCudaBuild(probe({ env: { M2_BUILD_CUDA: '1', M2_CUDA_ARCHS: 'sm90' } })), /not an architecture/);
});

test('build gate CLI prints what binding.gyp reads, and the built addon agrees with it', () => {
  const gate = (what: string, env: Record<string, string>): string =>
    execFileSync(process.execPath, ['--import', 'tsx', 'kernels/cuda/build-gate.ts', what], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  assert.equal(gate('enabled', { M2_BUILD_CUDA: '0' }), '0');
  assert.throws(() => gate('bogus', {}), /usage: build-gate.ts/);
  const here = gate('enabled', { M2_BUILD_CUDA: '' });
  // The install built CUDA exactly when the gate said so (unless someone rebuilt with M2_BUILD_CUDA=1).
  if (here === '1') assert.equal(gpuBackend().built, true, 'a GPU is visible: npm install must have built CUDA');
  if (!gpuBackend().built) assert.match(gpuBackend().error ?? '', /built without CUDA/);
});

test('device selection: auto picks cuda only with a CUDA build and a visible GPU; cuda says why it cannot run', () => {
  const none: GpuBackendInfo = { built: false, devices: [], error: 'not built' };
  const noDevice: GpuBackendInfo = { built: true, devices: [], error: 'cudaGetDeviceCount failed: no device' };
  const h100: GpuBackendInfo = { built: true, devices: ['NVIDIA H100 80GB HBM3'] };
  assert.equal(resolveDevice(undefined, none), 'cpu');
  assert.equal(resolveDevice('', noDevice), 'cpu');
  assert.equal(resolveDevice('auto', h100), 'cuda');
  assert.equal(resolveDevice('cpu', h100), 'cpu');
  assert.equal(resolveDevice('CUDA', h100), 'cuda');
  assert.throws(() => resolveDevice('cuda', none), (e: unknown) => e instanceof GpuOptionsError && /built without CUDA.*M2_BUILD_CUDA=1/.test(e.message));
  assert.throws(() => resolveDevice('cuda', noDevice), /no CUDA device is visible \(cudaGetDeviceCount failed: no device\)/);
  assert.throws(() => resolveDevice('tpu', h100), /device must be one of cpu, cuda/);
  assert.deepEqual([0, 1, 2, 3].map((r) => deviceOrdinal(r, 2)), [0, 1, 0, 1]);
  assert.throws(() => deviceOrdinal(0, 0), /no CUDA device/);
});

test('NCCL unique id travels as 256 hex characters and malformed ids are refused', () => {
  const id = new Uint8Array(128).map((_, i) => (i * 37 + 11) & 0xff);
  const text = encodeNcclUniqueId(id);
  assert.equal(text.length, 256);
  assert.deepEqual(decodeNcclUniqueId(text), id);
  assert.deepEqual(decodeNcclUniqueId(text.toUpperCase()), id);
  assert.throws(() => encodeNcclUniqueId(new Uint8Array(64)), /128 bytes, got 64/);
  assert.throws(() => decodeNcclUniqueId('m2-shm-group'), /256 hex characters/);
  assert.throws(() => decodeNcclUniqueId(`${text.slice(0, 254)}zz`), GpuOptionsError);
});

test('NCCL is dlopened at run time: a missing or wrong library is a coded error naming it', () => {
  assert.throws(() => ncclLibrary('/nonexistent/libnccl.so.2'), (e: Error & { code?: string }) =>
    e.code === 'ERR_NCCL_UNAVAILABLE' && /dlopen\(\/nonexistent\/libnccl.so.2\) failed/.test(e.message) && /M2_NCCL_LIBRARY/.test(e.message));
  assert.throws(() => ncclLibrary('libc.so.6'), (e: Error & { code?: string }) =>
    e.code === 'ERR_NCCL_UNAVAILABLE' && /libc.so.6 lacks symbol ncclGetVersion/.test(e.message));
  assert.throws(() => ncclUniqueId('/nonexistent/libnccl.so.2'), /ERR_NCCL_UNAVAILABLE|NCCL is not available/);
  let info;
  try {
    info = ncclLibrary();
  } catch (err) {
    assert.equal((err as Error & { code?: string }).code, 'ERR_NCCL_UNAVAILABLE');
    return;
  }
  // NCCL is installed here: ids are 128 fresh bytes each time.
  assert.ok(info.version >= 21200, `NCCL version ${info.version}`);
  const [a, b] = [ncclUniqueId(), ncclUniqueId()];
  assert.equal(a.length, 128);
  assert.notDeepEqual(a, b);
});

function loadRequest(over: Partial<LoadRequest__Output>): LoadRequest__Output {
  return {
    modelDir: '/nonexistent-model', rank: 0, tpSize: 1, layerStart: 0, layerEnd: 0, collective: 'COLLECTIVE_KIND_UNSPECIFIED',
    collectiveName: '', collectiveAddresses: [], collectiveTimeoutMs: 0, numKvBlocks: 8, blockSize: 16, maxBatchedTokens: 0,
    maxNumSeqs: 0, threads: 1, device: '', maxModelLen: 0, kvCacheDtype: '', ...over,
  } as LoadRequest__Output;
}

test('worker Load: device, NCCL and KV dtype options are checked before anything is loaded', () => {
  const invalid = (state: WorkerState, over: Partial<LoadRequest__Output>, pattern: RegExp): void =>
    assert.throws(() => state.load(loadRequest(over)), (e: unknown) => e instanceof WorkerStateError && e.kind === 'invalid' && pattern.test(e.message));
  const state = new WorkerState();
  invalid(state, { device: 'tpu' }, /device must be one of cpu, cuda/);
  invalid(state, { device: 'cpu', collective: 'COLLECTIVE_KIND_NCCL' }, /NCCL collective needs device cuda/);
  invalid(state, { device: 'cpu', kvCacheDtype: 'fp8' }, /kv_cache_dtype must be f32, bf16 or f16, got "fp8"/);
  if (!gpuBackend().built || gpuBackend().devices.length === 0) {
    invalid(state, { device: 'cuda' }, /device cuda: /);
    invalid(new WorkerState({ device: 'cuda' }), {}, /device cuda: /);
  } else {
    invalid(state, { device: 'cuda', collective: 'COLLECTIVE_KIND_NCCL', collectiveName: 'not-an-id' }, /256 hex characters/);
    invalid(state, { device: 'cuda', kvCacheDtype: 'bf16' }, /CUDA ranks keep the KV cache in f32/);
  }
});

// ---- On a GPU ------------------------------------------------------------------------------

const backend = gpuBackend();
const noGpu = !backend.built || backend.devices.length === 0 ? `no usable CUDA device: ${backend.error ?? 'none visible'}` : false;

test('createGpuModel refuses clearly when the CUDA backend is missing', { skip: noGpu === false ? 'this build has CUDA and a GPU' : false }, () => {
  const shape = { hiddenSize: 64, numLayers: 1, numHeads: 4, numKvHeads: 4, headDim: 16, intermediateSize: 128, vocabSize: 512, vocabStart: 0,
    vocabEnd: 512, rmsNormEps: 1e-6, tieWordEmbeddings: false, ropeInvFreq: new Float32Array(8), ropeAttentionScaling: 1, rank: 0, worldSize: 1 };
  assert.throws(() => createGpuModel(shape, { threads: 1, maxTokens: 8, numBlocks: 4, blockSize: 16, maxModelLen: 64 }), /CUDA backend is not available/);
});

const limits: NativeModelLimits = { threads: 2, maxTokens: 128, numBlocks: 64, blockSize: 16, maxModelLen: 256 };

async function generate(model: NativeModel, requests: GenerateRequest[]): Promise<GenerateResult[]> {
  return new LocalGenerator(model, new KvBlockAllocator(limits.numBlocks, limits.blockSize)).generate(requests, { maxStepTokens: 128, returnPromptLogits: true });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; ++i) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

interface GoldenFixture {
  prompts: { prompt: number[]; ids: number[]; gaps: number[]; firstLogits: { maxAbs: number; topIds: number[]; topValues: number[] } }[];
}

function checkGolden(name: string, results: GenerateResult[], tol: number): void {
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, `../fixtures/golden/${name}.json`), 'utf8')) as GoldenFixture;
  fixture.prompts.forEach((ref, i) => {
    const logits = results[i].promptLogits as Float32Array;
    ref.firstLogits.topIds.forEach((id, j) =>
      assert.ok(Math.abs(logits[id] - ref.firstLogits.topValues[j]) <= tol * ref.firstLogits.maxAbs, `${name} prompt ${i} logit ${id}`));
    const tie = ref.gaps.findIndex((g) => g < tol * ref.firstLogits.maxAbs);
    const n = tie === -1 ? ref.ids.length : tie + 1;
    assert.deepEqual(results[i].tokens.slice(0, n), ref.ids.slice(0, n), `${name} prompt ${i} ids vs HF`);
  });
}

for (const name of ['tiny', 'gqa3-bf16']) {
  test(`cuda TP=1 on ${name} matches HF and the CPU backend (greedy ids, logits, seeded draws)`, { skip: noGpu }, async () => {
    const dir = makeModel(GOLDEN_MODELS[name]);
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, `../fixtures/golden/${name}.json`), 'utf8')) as GoldenFixture;
    const cuda = loadShard(dir, { limits, gpu: { device: 0 } }).model;
    const cpu = loadShard(dir, { limits }).model;
    const greedy = fixture.prompts.map((p) => ({ prompt: p.prompt, maxTokens: p.ids.length }));
    // bf16 weights: cuBLAS prefill rounds activations to bf16, hence the looser tolerance.
    const tol = name === 'tiny' ? 1e-3 : 2e-2;
    const onGpu = await generate(cuda, greedy);
    checkGolden(name, onGpu, tol);
    const onCpu = await generate(cpu, greedy);
    onGpu.forEach((r, i) => {
      const { diff, scale } = maxAbsDiff(r.promptLogits as Float32Array, onCpu[i].promptLogits as Float32Array);
      assert.ok(diff <= tol * scale, `prompt ${i}: cuda vs cpu max|diff| ${diff} (scale ${scale})`);
    });
    const sampling = { temperature: 0.8, topK: 40, topP: 0.9, seed: 99, repetitionPenalty: 1.1 };
    const seeded = fixture.prompts.map((p, i) => ({ prompt: p.prompt, maxTokens: 6, sampling: { ...sampling, choiceIndex: i } }));
    const [gpuDraws, cpuDraws] = [await generate(cuda, seeded), await generate(cpu, seeded)];
    assert.deepEqual(gpuDraws.map((r) => r.tokens[0]), cpuDraws.map((r) => r.tokens[0]), 'first seeded draw equals the CPU draw');
  });
}

test('cuda TP=2 with both ranks on one GPU uses the host-staged all-reduce and matches TP=1', { skip: noGpu }, async () => {
  const dir = makeModel(GOLDEN_MODELS.tiny);
  const comms = await Promise.all([0, 1].map((rank) => Communicator.connect({ kind: 'shm', name: `/m2-gpu-tp-${process.pid}`, rank, worldSize: 2, timeoutMs: 20_000 })));
  try {
    const ranks = comms.map((c) => createRank(dir, c));
    assert.deepEqual(ranks.map((r) => r.collectiveMode()), ['host-staged', 'host-staged']);
    const group: NativeModel = {
      setTensor: () => assert.fail('loaded per rank'),
      missingTensors: () => ranks.flatMap((r) => r.missingTensors()),
      step: async (req) => (await Promise.all(ranks.map((r) => r.step(req))))[0],
      releaseSequence: (id) => ranks.forEach((r) => r.releaseSequence(id)),
      weightBytesPerToken: () => ranks.reduce((n, r) => n + r.weightBytesPerToken(), 0),
    };
    const requests = [{ prompt: [5, 17, 300, 42, 9], maxTokens: 8 }, { prompt: [400, 12], maxTokens: 8 }];
    const tp2 = await generate(group, requests);
    const tp1 = await generate(loadShard(dir, { limits, gpu: { device: 0 } }).model, requests);
    assert.deepEqual(tp2.map((r) => r.tokens), tp1.map((r) => r.tokens));
    tp2.forEach((r, i) => {
      const { diff, scale } = maxAbsDiff(r.promptLogits as Float32Array, tp1[i].promptLogits as Float32Array);
      assert.ok(diff <= 1e-4 * scale, `prompt ${i}: TP=2 vs TP=1 max|diff| ${diff}`);
    });
  } finally {
    for (const c of comms) c.close();
  }
});

function createRank(dir: string, c: Communicator) {
  const shard = loadShard(dir, { rank: c.rank, worldSize: 2, collective: c, limits, gpu: { device: 0 } });
  return shard.model as ReturnType<typeof createGpuModel>;
}

let ncclMissing: string | false = noGpu;
if (ncclMissing === false) {
  try {
    ncclLibrary();
  } catch (err) {
    ncclMissing = (err as Error).message;
  }
}

test('cuda with a one-rank NCCL group runs its collectives through NCCL and matches the plain model', { skip: ncclMissing }, async () => {
  const dir = makeModel(GOLDEN_MODELS.tiny);
  const withNccl = loadShard(dir, { limits, gpu: { device: 0, nccl: { uniqueId: ncclUniqueId() } } }).model as ReturnType<typeof createGpuModel>;
  assert.equal(withNccl.collectiveMode(), 'nccl');
  const requests = [{ prompt: [5, 17, 300, 42, 9], maxTokens: 6 }];
  const [a, b] = [await generate(withNccl, requests), await generate(loadShard(dir, { limits, gpu: { device: 0 } }).model, requests)];
  assert.deepEqual(a[0].tokens, b[0].tokens);
});
