// One coordinator process's servers around a replica: CoordinatorService over gRPC and the
// health port (/health, /ready), started from one config object, and the drain that SIGTERM
// runs: stop admitting, let open streams finish within a grace period, abort the rest, stop the
// workers. `m2 coordinator` runs this; tests run it in process.
import * as grpc from '@grpc/grpc-js';
import { basename } from 'node:path';
import { loadCoordinatorProto } from '../../proto/load.ts';
import { startHealthServer } from '../../worker/server/health-http.ts';
import { connectableHost, formatReadyLine } from '../group/ready-line.ts';
import { EngineMetrics } from '../metrics/engine-metrics.ts';
import { Replica, type ReplicaOptions } from '../runtime/replica.ts';
import { advertisedAddress, HeartbeatPublisher } from '../membership/heartbeat-publisher.ts';
import { CoordinatorService } from './coordinator-service.ts';
import { DEFAULT_READINESS, GroupReadiness, type ReadinessOptions } from './readiness.ts';

export interface CoordinatorConfig {
  replica: ReplicaOptions;
  /** Bind address of both servers. */
  host: string;
  /** gRPC port; 0 picks a free one. */
  port: number;
  /** Health HTTP port; 0 picks a free one. */
  metricsPort: number;
  /** Default: the model folder's name (as the router names it). */
  servedModelName?: string;
  readiness?: Partial<ReadinessOptions>;
  /** NATS servers to announce this coordinator on (coordinator/membership/); none: no announcements. */
  natsUrl?: string;
  /** The host announced on NATS (default: see advertisedAddress). */
  advertiseHost?: string;
}

export const DEFAULT_COORDINATOR_DRAIN_MS = 30_000;
/** How long aborted streams get to send their last message before the server is cut. */
const ABORT_FLUSH_MS = 2000;

export interface RunningCoordinator {
  grpcAddress: string;
  httpUrl: string;
  modelName: string;
  readyLine: string;
  replica: Replica;
  service: CoordinatorService;
  /** Stop admitting, finish open streams within `graceMs`, abort the rest, stop the workers. */
  shutdown(graceMs?: number): Promise<void>;
}

function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

export async function startCoordinator(config: CoordinatorConfig): Promise<RunningCoordinator> {
  const modelName = config.servedModelName ?? basename(config.replica.modelDir);
  // The replica label is this coordinator's gRPC address, known once bound; scrapes start after.
  let replicaLabel = '';
  let service: CoordinatorService | undefined;
  const metrics = new EngineMetrics({
    labels: () => ({ model_name: modelName, replica: replicaLabel }),
    stats: () => replica.engine.stats(),
    ready: () => service?.readiness().ready ?? false,
    kvCacheDtype: () => replica.kvCacheDtype,
  });
  const replica = await Replica.start({ ...config.replica, stepMetrics: metrics });
  const readiness = new GroupReadiness(replica.group, () => replica.engine.stats().lastStepTime, { ...DEFAULT_READINESS, ...config.readiness });
  service = new CoordinatorService({
    engine: replica.engine,
    modelName,
    tpSize: replica.group.tpSize,
    readiness: () => readiness.state,
    metrics,
  });
  const server = new grpc.Server();
  server.addService(loadCoordinatorProto().m2.v1.CoordinatorService.service, service.handlers());
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  let port: number;
  try {
    await readiness.start();
    port = await bindGrpc(server, config.host, config.port);
    health = await startHealthServer(config.host, config.metricsPort, async () => {
      const state = service.readiness();
      const { numRunning, numWaiting, kvCacheUsage, tpSize } = service.stats();
      const detail = { reason: state.reason || undefined, msSinceLastSuccess: state.msSinceLastSuccess, numRunning, numWaiting, kvCacheUsage, tpSize };
      return { ready: state.ready, detail };
    }, metrics.registry);
  } catch (err) {
    readiness.stop();
    server.forceShutdown();
    await replica.close();
    throw err;
  }
  const host = connectableHost(config.host);
  const grpcAddress = `${host}:${port}`;
  replicaLabel = grpcAddress;
  const httpUrl = `http://${host}:${health.port}`;
  const healthServer = health;
  const heartbeat =
    config.natsUrl === undefined
      ? undefined
      : new HeartbeatPublisher({
          natsUrl: config.natsUrl,
          address: advertisedAddress(config.advertiseHost ?? config.host, port),
          model: modelName,
          tp: replica.group.tpSize,
          snapshot: () => {
            const s = replica.engine.stats();
            return { ready: service.readiness().ready, running: s.numRunning, waiting: s.numWaiting, kvUsage: s.kvCacheUsage };
          },
        });
  let stopping: Promise<void> | undefined;
  return {
    grpcAddress,
    httpUrl,
    modelName,
    readyLine: formatReadyLine({ grpc: grpcAddress, http: httpUrl, model: modelName }),
    replica,
    service,
    shutdown(graceMs = DEFAULT_COORDINATOR_DRAIN_MS) {
      stopping ??= (async () => {
        service.stopAdmitting();
        // Routers stop sending new requests at once instead of after missed heartbeats.
        await heartbeat?.leave();
        await service.whenIdle(graceMs);
        readiness.stop();
        // Aborts what still runs: each open stream gets its final "abort" message and ends.
        await replica.engine.close();
        await service.whenIdle(ABORT_FLUSH_MS);
        const force = setTimeout(() => server.forceShutdown(), ABORT_FLUSH_MS);
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        clearTimeout(force);
        await healthServer.close();
        await replica.close();
      })();
      return stopping;
    },
  };
}
