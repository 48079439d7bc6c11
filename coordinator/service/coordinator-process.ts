// Starts one model replica as a child process (`m2 coordinator`, which spawns its own TP workers)
// on free loopback ports and waits for its ready line. `m2 serve` calls this once per replica.
import { spawnM2, type M2Child } from '../group/child-process.ts';

export interface CoordinatorProcessOptions {
  modelDir: string;
  servedModelName?: string;
  /** NATS servers the coordinator announces itself on (`--nats`). */
  natsUrl?: string;
  /** Engine flags passed through unchanged (`--tp 2 --max-num-seqs 8 ...`). */
  engineArgs: string[];
  /** Names the child in error messages and logs ("replica 0"). */
  name: string;
  /** Loading a large checkpoint takes minutes. */
  readyTimeoutMs: number;
}

export function spawnCoordinator(opts: CoordinatorProcessOptions): Promise<M2Child> {
  const args = ['coordinator', '--model', opts.modelDir, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', ...opts.engineArgs];
  if (opts.servedModelName !== undefined) args.push('--served-model-name', opts.servedModelName);
  if (opts.natsUrl !== undefined) args.push('--nats', opts.natsUrl);
  // The child spawns its own workers: an inherited worker list would point it elsewhere.
  return spawnM2(args, { name: opts.name, timeoutMs: opts.readyTimeoutMs, env: { M2_WORKERS: '' } });
}
