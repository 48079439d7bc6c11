// `m2 worker`: one tensor-parallel rank. It serves WorkerService and waits for the coordinator's
// Load (model folder, rank, group, KV size), so start-up order never matters.
import { formatReadyLine } from '../../coordinator/group/ready-line.ts';
import { WorkerMetrics } from '../../coordinator/metrics/worker-metrics.ts';
import { startHealthServer } from '../../worker/server/health-http.ts';
import { startWorkerGrpc } from '../../worker/server/worker-grpc.ts';
import { WorkerState } from '../../worker/server/worker-state.ts';
import { CliError, intOpt, stringOpt, type Command } from '../command.ts';

/** A rank that stepped within this window is ready without a probe. */
const RECENT_STEP_MS = 10_000;
const PROBE_TIMEOUT_MS = 5_000;

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run one tensor-parallel rank (WorkerService over gRPC)',
  usage: `Usage: m2 worker [options]

Serves m2.v1.WorkerService; the coordinator loads the model into it. Prints
"m2 ready grpc=HOST:PORT http=http://HOST:PORT" once listening. Every option can also be set
with its M2_* environment variable (--health-port <-> M2_HEALTH_PORT).

Options:
  --host H          address to bind (default 127.0.0.1; 0.0.0.0 in containers)
  --rank R          this worker's rank, for the default ports (default 0)
  --port P          gRPC port (default 50071 + rank; 0 = pick a free port)
  --health-port P   HTTP /health, /ready and /metrics (default 9071 + rank; 0 = pick a free port)
  --device D        cpu | cuda | auto (default auto: cuda when this build has CUDA and sees a
                    GPU); a device named in the coordinator's Load request takes precedence`,
  options: {
    host: { type: 'string' },
    rank: { type: 'string' },
    port: { type: 'string' },
    'health-port': { type: 'string' },
    device: { type: 'string' },
  },
  async run(values) {
    const host = stringOpt(values, 'host') ?? '127.0.0.1';
    const rank = intOpt(values, 'rank', 0, 7) ?? 0;
    const port = intOpt(values, 'port', 0, 65535) ?? 50071 + rank;
    const healthPort = intOpt(values, 'health-port', 0, 65535) ?? 9071 + rank;
    const device = stringOpt(values, 'device');
    if (device !== undefined && !['cpu', 'cuda', 'auto'].includes(device)) throw new CliError(`--device must be cpu, cuda or auto, got ${device}`);
    const state = new WorkerState({ device });
    const metrics = new WorkerMetrics({ rank: String(rank), loaded: () => state.loaded });
    const grpcServer = await startWorkerGrpc(state, host, port, metrics);
    const health = await startHealthServer(host, healthPort, async () => {
      if (!state.loaded) return { ready: false, detail: { loaded: false } };
      const since = state.msSinceLastStep();
      if (since >= 0 && since < RECENT_STEP_MS && !state.lastError) return { ready: true, detail: { loaded: true, msSinceLastStep: since } };
      const probe = state.probe().then(() => true);
      const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), PROBE_TIMEOUT_MS).unref());
      const ok = await Promise.race([probe, timeout]).catch(() => false);
      return { ready: ok, detail: { loaded: true, probe: ok ? 'passed' : 'failed', lastError: state.lastError || undefined } };
    }, metrics.registry);
    console.log(formatReadyLine({ grpc: `${host}:${grpcServer.port}`, http: `http://${host}:${health.port}` }));
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    grpcServer.server.forceShutdown();
    await health.close();
    state.close();
    return 0;
  },
};
