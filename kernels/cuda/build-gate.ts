// Decides at `node-gyp configure` time whether the addon is built with the CUDA backend, and
// with which toolkit and GPU architectures (binding.gyp runs this file through tsx). CUDA is
// built only with M2_BUILD_CUDA=1 or when a GPU is visible (`nvidia-smi -L` succeeds): nvcc alone
// is not enough, it is installed on machines without GPUs, where `npm install` must stay CPU-only.
//   node --import tsx kernels/cuda/build-gate.ts enabled|cuda-home|nvcc|gencode
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What the gate looks at; injected in tests. */
export interface BuildProbe {
  env: Record<string, string | undefined>;
  /** Absolute path of nvcc, or null when not found. */
  nvcc: string | null;
  /** Toolkit root holding include/cuda_runtime.h and lib64 (CUDA_HOME, CUDA_PATH, nvcc's, /usr/local/cuda). */
  cudaHome: string | null;
  /** True when `nvidia-smi -L` lists at least one GPU. */
  gpuVisible: boolean;
  /** Compute capabilities of the visible GPUs ("9.0"), empty when unknown. */
  computeCaps: string[];
}

export interface CudaBuildDecision {
  enabled: boolean;
  reason: string;
  nvcc: string;
  cudaHome: string;
  /** nvcc -gencode flags: SASS for each architecture plus PTX of the newest. */
  gencode: string[];
}

export class CudaBuildError extends Error {
  override readonly name = 'CudaBuildError';
}

const DEFAULT_ARCHS = ['80', '90'];

function archList(probe: BuildProbe): string[] {
  const explicit = probe.env.M2_CUDA_ARCHS?.trim();
  const raw = explicit ? explicit.split(/[;,\s]+/) : probe.computeCaps.map((c) => c.replace('.', ''));
  const archs = [...new Set(raw.filter((a) => a !== ''))];
  for (const a of archs) {
    if (!/^\d{2,3}[a-z]?$/.test(a)) throw new CudaBuildError(`M2_CUDA_ARCHS: '${a}' is not an architecture like 80 or 90a`);
  }
  return archs.length > 0 ? archs.sort() : DEFAULT_ARCHS;
}

function gencodeFlags(archs: string[]): string[] {
  const flags = archs.map((a) => `-gencode=arch=compute_${a},code=sm_${a}`);
  const newest = archs[archs.length - 1];
  return [...flags, `-gencode=arch=compute_${newest},code=compute_${newest}`];
}

/** Pure decision from a probe; throws CudaBuildError when CUDA is forced but cannot be built. */
export function decideCudaBuild(probe: BuildProbe): CudaBuildDecision {
  const flag = probe.env.M2_BUILD_CUDA?.trim();
  if (flag !== undefined && flag !== '' && flag !== '0' && flag !== '1')
    throw new CudaBuildError(`M2_BUILD_CUDA must be 0 or 1, got '${flag}'`);
  const home = probe.cudaHome ?? '';
  const off = (reason: string): CudaBuildDecision => ({ enabled: false, reason, nvcc: 'nvcc', cudaHome: home, gencode: [] });
  if (flag === '0') return off('M2_BUILD_CUDA=0');
  if (flag !== '1' && !probe.gpuVisible) return off('no GPU visible (nvidia-smi -L) and M2_BUILD_CUDA is not 1');
  if (!probe.nvcc || !probe.cudaHome) {
    const missing = !probe.nvcc ? 'nvcc was not found' : 'no CUDA toolkit root with include/cuda_runtime.h was found';
    if (flag === '1') throw new CudaBuildError(`M2_BUILD_CUDA=1 but ${missing} (put the CUDA toolkit on PATH or set CUDA_HOME)`);
    return off(`a GPU is visible but ${missing}: building the CPU backend only`);
  }
  const reason = flag === '1' ? 'M2_BUILD_CUDA=1' : 'a GPU is visible';
  return { enabled: true, reason, nvcc: probe.nvcc, cudaHome: home, gencode: gencodeFlags(archList(probe)) };
}

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 });
  } catch {
    return null;
  }
}

function findNvcc(env: Record<string, string | undefined>): string | null {
  const home = env.CUDA_HOME || env.CUDA_PATH;
  if (home && existsSync(join(home, 'bin', 'nvcc'))) return join(home, 'bin', 'nvcc');
  const found = run('sh', ['-c', 'command -v nvcc'])?.trim();
  if (found) return realpathSync(found);
  return existsSync('/usr/local/cuda/bin/nvcc') ? '/usr/local/cuda/bin/nvcc' : null;
}

function findCudaHome(env: Record<string, string | undefined>, nvcc: string | null): string | null {
  const candidates = [env.CUDA_HOME, env.CUDA_PATH, nvcc ? dirname(dirname(nvcc)) : undefined, '/usr/local/cuda'];
  return candidates.find((c): c is string => !!c && existsSync(join(c, 'include', 'cuda_runtime.h'))) ?? null;
}

/** Looks at this machine: environment, nvcc, and the GPUs nvidia-smi lists. */
export function probeMachine(env: Record<string, string | undefined> = process.env): BuildProbe {
  const list = run('nvidia-smi', ['-L']);
  const gpuVisible = list !== null && /GPU \d+/.test(list);
  const caps = gpuVisible ? run('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader']) : null;
  const nvcc = findNvcc(env);
  return {
    env,
    nvcc,
    cudaHome: findCudaHome(env, nvcc),
    gpuVisible,
    computeCaps: caps ? caps.split('\n').map((l) => l.trim()).filter((l) => /^\d+\.\d+$/.test(l)) : [],
  };
}

function main(what: string | undefined): void {
  const decision = decideCudaBuild(probeMachine());
  switch (what) {
    case 'enabled':
      process.stderr.write(`m2: CUDA backend ${decision.enabled ? 'ON' : 'off'} (${decision.reason})\n`);
      process.stdout.write(decision.enabled ? '1' : '0');
      return;
    case 'cuda-home':
      process.stdout.write(decision.cudaHome);
      return;
    case 'nvcc':
      process.stdout.write(decision.nvcc);
      return;
    case 'gencode':
      process.stdout.write(decision.gencode.join(' '));
      return;
    default:
      throw new CudaBuildError(`usage: build-gate.ts enabled|cuda-home|nvcc|gencode (got ${what ?? 'nothing'})`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main(process.argv[2]);
  } catch (err) {
    process.stderr.write(`m2: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
