// Runs `m2 serve` as a real child process for the end-to-end tests: waits for its ready line,
// tags it (and so every process it starts) with M2_TEST_TAG to find leftovers, and reaches the
// coordinator behind the router through the router's /ready report, to read its Stats.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import type { CoordinatorServiceClient } from '../../proto/gen/m2/v1/CoordinatorService.ts';
import type { StatsResponse__Output } from '../../proto/gen/m2/v1/StatsResponse.ts';
import { loadCoordinatorProto } from '../../proto/load.ts';
import { M2_BIN } from '../cluster/tp-harness.ts';

export interface ServeProcess {
  child: ChildProcess;
  readyLine: string;
  url: string;
  grpcAddress: string;
  model: string;
  /** Resolves with the exit code (or signal name) when the process ended. */
  exited: Promise<string>;
  stderr(): string;
}

export async function startServe(args: string[], tag: string, readyTimeoutMs = 120_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [M2_BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, M2_TEST_TAG: tag } });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`m2 serve not ready within ${readyTimeoutMs} ms: ${stderr}`));
    }, readyTimeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('m2 ready '));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(line);
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`m2 serve exited (${how}) before it was ready: ${stderr}`));
    });
  });
  const field = (name: string): string => new RegExp(`${name}=(\\S+)`).exec(readyLine)?.[1] ?? '';
  return { child, readyLine, url: field('http'), grpcAddress: field('grpc'), model: field('model'), exited, stderr: () => stderr };
}

/** The coordinator behind the router, as the router's /ready lists it. */
export async function coordinatorOf(serve: ServeProcess): Promise<CoordinatorServiceClient> {
  const body = (await (await fetch(`${serve.url}/ready`)).json()) as { replicas: { address: string }[] };
  return new (loadCoordinatorProto().m2.v1.CoordinatorService)(body.replicas[0].address, grpc.credentials.createInsecure());
}

export function coordinatorStats(client: CoordinatorServiceClient): Promise<StatsResponse__Output> {
  return new Promise((resolve, reject) => client.Stats({}, { deadline: Date.now() + 5000 }, (err, res) => (err || !res ? reject(err) : resolve(res))));
}
