// Starts a whole router (served model, replica set, HTTP and gRPC servers) from one validated
// config object, and stops it: `drain` stops admitting and lets in-flight streams finish within a
// grace period before aborting the rest. `m2 router` and `m2 serve` both start routers this way.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoordinatorBackend, DEFAULT_BACKEND_TIMEOUTS, type BackendTimeouts } from './coordinator-backend.ts';
import { startGrpcServer } from './grpc/grpc-server.ts';
import { createHttpServer } from './http/http-server.ts';
import { RouterMetrics } from '../coordinator/metrics/router-metrics.ts';
import { ReplicaSet, type ReplicaPolicy } from './replica-set.ts';
import { PrefixAwarePolicy } from './routing/prefix-aware-policy.ts';
import { RequestGateway } from './request-gateway.ts';
import { ServedModel } from './served-model.ts';
import { CoordinatorDiscovery } from '../coordinator/membership/coordinator-discovery.ts';
import { connectableHost } from '../coordinator/group/ready-line.ts';

export interface RouterConfig {
  modelDir: string;
  /** Default: the model folder's name. */
  servedModelName?: string;
  /** Coordinator addresses, host:port (may be empty when `natsUrl` is set). */
  coordinators: string[];
  /** NATS server: coordinators announcing this model there are added as they appear. */
  natsUrl?: string;
  host: string;
  /** 0 picks a free port. */
  httpPort: number;
  grpcPort: number;
  maxBodyBytes: number;
  timeouts?: Partial<BackendTimeouts>;
  /** Default: prefix- and session-aware routing with `routingBeta`. */
  policy?: ReplicaPolicy;
  /** The load weight of the default policy (router/routing/prefix-aware-policy.ts). */
  routingBeta?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_DRAIN_GRACE_MS = 30_000;

export interface RunningRouter {
  httpUrl: string;
  grpcAddress: string;
  modelName: string;
  /** DESIGN.md's ready line. */
  readyLine: string;
  gateway: RequestGateway;
  /** Stop admitting, finish or abort in-flight requests, close servers and clients. */
  shutdown(graceMs?: number): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Adds coordinators as NATS announces them (unless listed statically) and removes them when they go. */
function discoverReplicas(natsUrl: string, modelName: string, replicas: ReplicaSet, timeouts: BackendTimeouts): CoordinatorDiscovery {
  const isStatic = new Set(replicas.backends.map((b) => b.address));
  return new CoordinatorDiscovery({
    natsUrl,
    model: modelName,
    onJoin(a) {
      if (isStatic.has(a.address)) return;
      console.error(`m2 router: coordinator ${a.address} joined (TP ${a.tp}, ${a.ready ? 'ready' : 'not ready yet'})`);
      replicas.add(new CoordinatorBackend(a.address, timeouts));
    },
    onGone(address, reason) {
      const backend = replicas.backends.find((b) => b.address === address);
      if (!backend || isStatic.has(address)) return;
      console.error(`m2 router: coordinator ${address} removed: ${reason}`);
      replicas.remove(backend);
    },
  });
}

export async function startRouter(config: RouterConfig): Promise<RunningRouter> {
  const model = ServedModel.load(config.modelDir, config.servedModelName);
  const timeouts = { ...DEFAULT_BACKEND_TIMEOUTS, ...config.timeouts };
  const backends = config.coordinators.map((address) => new CoordinatorBackend(address, timeouts));
  const metrics = new RouterMetrics({ modelName: model.name, replicas: () => replicas.backends });
  const policy =
    config.policy ?? new PrefixAwarePolicy({ beta: config.routingBeta, onDecision: (backend, reason) => metrics.recordDecision(backend.address, reason) });
  const replicas = new ReplicaSet(backends, policy, config.natsUrl !== undefined);
  const gateway = new RequestGateway(model, replicas, timeouts.abortTimeoutMs, metrics);
  const httpServer = createHttpServer(gateway, { maxBodyBytes: config.maxBodyBytes });
  let grpcServer: Awaited<ReturnType<typeof startGrpcServer>> | undefined;
  let discovery: CoordinatorDiscovery | undefined;
  try {
    await replicas.start();
    if (config.natsUrl !== undefined) discovery = discoverReplicas(config.natsUrl, model.name, replicas, timeouts);
    await listen(httpServer, config.host, config.httpPort);
    grpcServer = await startGrpcServer(gateway, config.host, config.grpcPort);
  } catch (err) {
    await discovery?.close();
    replicas.close();
    httpServer.close();
    grpcServer?.server.forceShutdown();
    throw err;
  }
  const host = connectableHost(config.host);
  const httpUrl = `http://${host}:${(httpServer.address() as AddressInfo).port}`;
  const grpcAddress = `${host}:${grpcServer.port}`;
  const grpc = grpcServer;
  const membership = discovery;
  let stopping: Promise<void> | undefined;
  return {
    httpUrl,
    grpcAddress,
    modelName: model.name,
    readyLine: `m2 ready http=${httpUrl} grpc=${grpcAddress} model=${model.name}`,
    gateway,
    shutdown(graceMs = DEFAULT_DRAIN_GRACE_MS) {
      stopping ??= (async () => {
        grpc.stopServing();
        await gateway.drain(graceMs);
        // Streams that just ended may still be writing their last events: close idle
        // connections now, and cut the rest only if they linger.
        const cut = setTimeout(() => httpServer.closeAllConnections(), 2000);
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
        });
        clearTimeout(cut);
        // Health Watch streams stay open as long as their clients like; they do not hold a drain.
        const force = setTimeout(() => grpc.server.forceShutdown(), 1000);
        await new Promise<void>((resolve) => grpc.server.tryShutdown(() => resolve()));
        clearTimeout(force);
        await membership?.close();
        replicas.close();
      })();
      return stopping;
    },
  };
}
