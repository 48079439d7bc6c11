// `m2 coordinator`: one model replica's coordinator (the chart runs it in each group's rank-0 pod,
// `m2 serve` as a child). It spawns its TP workers unless --workers names running ones, serves
// m2.v1.CoordinatorService and the health port, and drains on SIGTERM before exiting 0.
import { resolve } from 'node:path';
import { DEFAULT_COORDINATOR_DRAIN_MS, startCoordinator } from '../../coordinator/service/coordinator-server.ts';
import { CliError, intOpt, stringOpt, type Command } from '../command.ts';
import { ENGINE_OPTIONS, ENGINE_USAGE, parseEngineOptions } from '../engine-options.ts';
import { NATS_OPTIONS, natsUrlOpt } from '../nats-option.ts';
import { runUntilSignal } from '../signals.ts';

function workerList(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const list = raw.split(',').map((s) => s.trim());
  for (const address of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s,]+):\d{1,5}$/.test(address)) throw new CliError(`--workers: ${JSON.stringify(address)} is not host:port`, 2);
  }
  return list;
}

export const coordinatorCommand: Command = {
  name: 'coordinator',
  summary: 'run one replica: CoordinatorService over its tensor-parallel workers',
  usage: `Usage: m2 coordinator --model DIR [--tp N] [--workers host:port,...] [options]

Spawns --tp worker processes (or loads the model into the running workers named by --workers, in
rank order), serves m2.v1.CoordinatorService over gRPC and GET /health, /ready on the metrics
port. Prints "m2 ready grpc=HOST:PORT http=http://HOST:PORT model=NAME" once ready. SIGTERM:
stop admitting, let running requests finish within --drain-timeout, abort the rest, stop the
workers, exit 0. Every option can also be set with its M2_* environment variable.

Options:
  --model DIR               model folder in HF layout (see m2 make-model)
  --workers LIST            running workers' gRPC addresses, comma-separated, in rank order
                            (their collective defaults to tcp: they may run on other hosts)
  --served-model-name NAME  the model name reported in Stats (default: the folder name)
  --host H                  bind address (default 0.0.0.0)
  --port P                  gRPC port (default 50061; 0 = pick a free port)
  --metrics-port P          HTTP /health and /ready (default 9061; 0 = pick a free port)
  --drain-timeout S         seconds running requests get on SIGTERM (default ${DEFAULT_COORDINATOR_DRAIN_MS / 1000})
  --nats URL                announce this coordinator on NATS for routers started with --nats:
                            a heartbeat every second, "leaving" on SIGTERM; NATS may start
                            later or restart (retried with backoff, serving goes on)
  --advertise-host H        the host routers dial, as announced on NATS (default: --host, or
                            this host's first non-loopback IPv4 address for a wildcard bind)

${ENGINE_USAGE}`,
  options: {
    model: { type: 'string' },
    workers: { type: 'string' },
    'served-model-name': { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'metrics-port': { type: 'string' },
    'drain-timeout': { type: 'string' },
    ...NATS_OPTIONS,
    'advertise-host': { type: 'string' },
    ...ENGINE_OPTIONS,
  },
  async run(values) {
    const model = stringOpt(values, 'model');
    if (!model) throw new CliError('--model DIR is required', 2);
    const workerAddresses = workerList(stringOpt(values, 'workers'));
    const replica = { ...parseEngineOptions(values, resolve(model)), workerAddresses };
    // Workers named by address may run on other hosts (the chart's pods): shared memory cannot reach them.
    if (workerAddresses && values.collective === undefined) replica.collective = 'tcp';
    const drainMs = (intOpt(values, 'drain-timeout', 0, 24 * 3600) ?? DEFAULT_COORDINATOR_DRAIN_MS / 1000) * 1000;
    const config = {
      replica,
      host: stringOpt(values, 'host') ?? '0.0.0.0',
      port: intOpt(values, 'port', 0, 65535) ?? 50061,
      metricsPort: intOpt(values, 'metrics-port', 0, 65535) ?? 9061,
      servedModelName: stringOpt(values, 'served-model-name'),
      natsUrl: natsUrlOpt(values),
      advertiseHost: stringOpt(values, 'advertise-host'),
    };
    let coordinator;
    try {
      coordinator = await startCoordinator(config);
    } catch (err) {
      throw new CliError(`cannot start the coordinator: ${(err as Error).message.split('\n')[0]}`);
    }
    console.log(coordinator.readyLine);
    const running = coordinator;
    return runUntilSignal('m2 coordinator', drainMs, (graceMs) => running.shutdown(graceMs));
  },
};
