// What the CoordinatorService tests share: a coordinator in this process over real `m2 worker`
// processes (the micro preset, token ids only, TP 2), a real gRPC client, and helpers that run a
// Generate stream to its end the way the router reads it.
import * as grpc from '@grpc/grpc-js';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/service/coordinator-server.ts';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import type { EngineGenerateRequest } from '../../proto/gen/m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { StatsResponse__Output } from '../../proto/gen/m2/v1/StatsResponse.ts';
import { loadCoordinatorProto } from '../../proto/load.ts';
import { makeModel } from '../../worker/model/make-model.ts';

export const MICRO_DIR = makeModel({ preset: 'micro' });
/** micro's vocabulary (512 ids); prompts use ids from it. */
export const MICRO_VOCAB = 512;

export interface MicroCoordinatorOptions {
  /** KV per rank; micro at TP 2 takes 8 KiB per 16-token block. */
  kvCacheMemory: string;
  maxNumSeqs?: number;
  maxWaitingRequests?: number;
  collectiveTimeoutMs?: number;
}

export function startMicroCoordinator(opts: MicroCoordinatorOptions): Promise<RunningCoordinator> {
  return startCoordinator({
    replica: {
      modelDir: MICRO_DIR,
      tp: 2,
      collective: 'shm',
      kvCacheMemory: opts.kvCacheMemory,
      blockSize: 16,
      maxNumSeqs: opts.maxNumSeqs ?? 16,
      maxNumBatchedTokens: 256,
      maxWaitingRequests: opts.maxWaitingRequests,
      threadsPerRank: 1,
      stepTimeoutMs: 30_000,
      loadTimeoutMs: 60_000,
      collectiveTimeoutMs: opts.collectiveTimeoutMs ?? 10_000,
    },
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    servedModelName: 'micro',
    readiness: { intervalMs: 200, freshMs: 1500, healthTimeoutMs: 1000 },
  });
}

export function coordinatorClient(address: string): CoordinatorServiceClient {
  return new (loadCoordinatorProto().m2.v1.CoordinatorService)(address, grpc.credentials.createInsecure());
}

/** A deterministic prompt of `length` ids from `seed`. */
export function prompt(length: number, seed: number): number[] {
  return Array.from({ length }, (_, i) => (seed * 131 + i * 37 + 5) % MICRO_VOCAB);
}

export function greedy(requestId: string, promptTokenIds: number[], maxTokens: number): EngineGenerateRequest {
  return { requestId, promptTokenIds, params: { n: 1, maxTokens, sampling: { temperature: 0 } } };
}

export interface GenerateResult {
  messages: EngineGenerateResponse__Output[];
  tokenIds: number[];
  finishReason: string;
}

export function collect(call: grpc.ClientReadableStream<EngineGenerateResponse__Output>): Promise<GenerateResult> {
  return new Promise((resolve, reject) => {
    const result: GenerateResult = { messages: [], tokenIds: [], finishReason: '' };
    call.on('data', (m: EngineGenerateResponse__Output) => {
      result.messages.push(m);
      for (const c of m.choices) {
        result.tokenIds.push(...c.tokenIds);
        if (c.finishReason) result.finishReason = c.finishReason;
      }
    });
    call.on('error', reject);
    call.on('end', () => resolve(result));
  });
}

export function generate(client: CoordinatorServiceClient, request: EngineGenerateRequest): Promise<GenerateResult> {
  return collect(client.Generate(request));
}

export function stats(client: CoordinatorServiceClient): Promise<StatsResponse__Output> {
  return new Promise((resolve, reject) => client.Stats({}, { deadline: Date.now() + 5000 }, (err, res) => (err || !res ? reject(err) : resolve(res))));
}

/** Polls Stats until `check` holds or `timeoutMs` passes; returns the last answer. */
export async function statsWhen(client: CoordinatorServiceClient, check: (s: StatsResponse__Output) => boolean, timeoutMs: number): Promise<StatsResponse__Output> {
  const deadline = Date.now() + timeoutMs;
  let last = await stats(client);
  while (!check(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    last = await stats(client);
  }
  return last;
}

/** The gRPC status code a promise rejected with (fails the test if it resolved). */
export async function rejectionCode(p: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail');
}
