// `m2 serve` (and `npm start`): the whole stack on one host. --replicas coordinator child processes
// (each spawns its TP workers) and the router in this process in front of them. Without --model it
// serves the embedded default: the `tiny` preset, made on first run, at TP=2. SIGTERM drains the
// router (stop admitting, finish or abort in-flight requests), then stops the coordinator and its
// workers, and exits 0.
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { stopChildren, type M2Child } from '../../coordinator/group/child-process.ts';
import { spawnCoordinator } from '../../coordinator/service/coordinator-process.ts';
import { DEFAULT_DRAIN_GRACE_MS, DEFAULT_MAX_BODY_BYTES, startRouter } from '../../router/router.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { CliError, intOpt, stringOpt, type Command, type ParsedValues } from '../command.ts';
import { ENGINE_OPTIONS, ENGINE_USAGE, parseEngineOptions } from '../engine-options.ts';
import { parseRoutingBeta, ROUTING_OPTIONS, ROUTING_USAGE } from '../routing-options.ts';
import { NATS_OPTIONS, natsUrlOpt } from '../nats-option.ts';
import { runUntilSignal } from '../signals.ts';

const DEFAULT_PRESET = 'tiny';
const DEFAULT_PRESET_TP = 2;
/** A coordinator loading a 32B checkpoint needs minutes before its ready line. */
const COORDINATOR_READY_TIMEOUT_MS = 30 * 60 * 1000;
/** The coordinator has nothing left to drain once the router drained: this covers stopping its workers. */
const COORDINATOR_STOP_GRACE_MS = 15_000;

/** The engine flags given (command line or M2_*), to pass on to the coordinator unchanged. */
function engineArgs(values: ParsedValues): string[] {
  return Object.keys(ENGINE_OPTIONS).flatMap((name) => {
    const v = values[name];
    return typeof v === 'string' ? [`--${name}`, v] : [];
  });
}

/** Unless --threads says otherwise, the replicas' ranks share the cores instead of each taking cores / tp. */
function sharedThreads(values: ParsedValues, replicas: number, tp: number): void {
  if (replicas > 1 && values.threads === undefined) values.threads = String(Math.max(1, Math.floor(cpus().length / (tp * replicas))));
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve a model on this host: OpenAI HTTP + gRPC APIs, --replicas replicas of TP workers',
  usage: `Usage: m2 serve [--model DIR] [--tp N] [--replicas R] [--port P] [--grpc-port G] [options]

Starts --replicas coordinator processes (each starts --tp worker processes) and the router in
front of them (a session sticks to its replica, other requests go by prefix cache and load): POST /v1/chat/completions, /v1/completions, GET /v1/models, /health, /ready, /metrics on --port, and
m2.v1.GenerateService on --grpc-port. Prints "m2 ready http=... grpc=... model=..." when
serving. Without --model it serves the embedded default model (the tiny preset, made on first
run under ~/.cache/m2/models) at TP=2. SIGTERM drains (new requests refused, running ones finish
within --drain-timeout, the rest aborted), stops every process, exits 0. Every option can also
be set with its M2_* environment variable.

Options:
  --model DIR               model folder in HF layout (default: the tiny preset, TP 2)
  --replicas R              model replicas (TP groups) behind the router (default 1); their
                            ranks share the cores unless --threads is given
  --served-model-name NAME  the "model" clients send (default: the folder name)
  --host H                  bind address of the public servers (default 0.0.0.0)
  --port P                  HTTP port (default 8000; 0 = pick a free port)
  --grpc-port P             gRPC port (default 50051; 0 = pick a free port)
  --max-body-bytes N        largest request body (default ${DEFAULT_MAX_BODY_BYTES})
  --drain-timeout S         seconds in-flight requests get on SIGTERM (default ${DEFAULT_DRAIN_GRACE_MS / 1000})
  --nats URL                also announce the replicas on this NATS server and route to other
                            coordinators of the model announced there (not needed on one host)
${ROUTING_USAGE}

${ENGINE_USAGE}`,
  options: {
    model: { type: 'string' },
    'served-model-name': { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'grpc-port': { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'drain-timeout': { type: 'string' },
    replicas: { type: 'string' },
    ...ROUTING_OPTIONS,
    ...NATS_OPTIONS,
    ...ENGINE_OPTIONS,
  },
  async run(given) {
    const values: ParsedValues = { ...given };
    let modelDir = stringOpt(values, 'model');
    if (modelDir === undefined) {
      console.error(`m2 serve: no --model: serving the ${DEFAULT_PRESET} preset (made on first run) at TP ${DEFAULT_PRESET_TP}`);
      modelDir = makeModel({ preset: DEFAULT_PRESET });
      values.tp ??= String(DEFAULT_PRESET_TP);
    }
    modelDir = resolve(modelDir);
    const replicaCount = intOpt(values, 'replicas', 1, 64) ?? 1;
    const routingBeta = parseRoutingBeta(values);
    sharedThreads(values, replicaCount, parseEngineOptions(values, modelDir).tp); // also: flag errors now, as usage errors, not from the child
    const drainMs = (intOpt(values, 'drain-timeout', 0, 24 * 3600) ?? DEFAULT_DRAIN_GRACE_MS / 1000) * 1000;
    const servedModelName = stringOpt(values, 'served-model-name');
    const httpPort = intOpt(values, 'port', 0, 65535) ?? 8000;
    const grpcPort = intOpt(values, 'grpc-port', 0, 65535) ?? 50051;
    const maxBodyBytes = intOpt(values, 'max-body-bytes', 1) ?? DEFAULT_MAX_BODY_BYTES;
    const natsUrl = natsUrlOpt(values);

    const spawned = await Promise.allSettled(
      Array.from({ length: replicaCount }, (_, i) =>
        spawnCoordinator({ modelDir, servedModelName, natsUrl, engineArgs: engineArgs(values), name: replicaCount === 1 ? 'coordinator' : `replica ${i}`, readyTimeoutMs: COORDINATOR_READY_TIMEOUT_MS }),
      ),
    );
    const children: M2Child[] = spawned.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = spawned.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await stopChildren(children, COORDINATOR_STOP_GRACE_MS);
      throw new CliError(`cannot start the model replica: ${(failed.reason as Error).message}`);
    }
    let router;
    try {
      router = await startRouter({
        modelDir,
        servedModelName,
        coordinators: children.map((c) => c.ready.grpc!),
        natsUrl,
        host: stringOpt(values, 'host') ?? '0.0.0.0',
        httpPort,
        grpcPort,
        maxBodyBytes,
        routingBeta,
      });
    } catch (err) {
      await stopChildren(children, COORDINATOR_STOP_GRACE_MS);
      throw new CliError(`cannot start the router: ${(err as Error).message.split('\n')[0]}`);
    }
    console.log(router.readyLine);
    const running = router;
    let stopping = false;
    const shutdown = async (graceMs: number): Promise<void> => {
      stopping = true;
      await running.shutdown(graceMs);
      await stopChildren(children, COORDINATOR_STOP_GRACE_MS);
    };
    // The router routes around a replica that dies on its own; when the last one is gone the server
    // stops (a supervisor restarts the whole stack).
    const signalled = runUntilSignal('m2 serve', drainMs, shutdown);
    let alive = children.length;
    const allDied = new Promise<number>((resolveExit) => {
      children.forEach((child, i) => {
        void child.exited.then(async (how) => {
          if (stopping) return;
          const name = children.length === 1 ? 'the coordinator' : `replica ${i}'s coordinator`;
          if (--alive > 0) {
            console.error(`m2 serve: ${name} exited (${how}): ${child.stderrTail()}; serving with ${alive} replica(s)`);
            return;
          }
          console.error(`m2 serve: ${name} exited (${how}): ${child.stderrTail()}; stopping`);
          await shutdown(0);
          resolveExit(1);
        });
      });
    });
    return Promise.race([signalled, allDied]);
  },
};
