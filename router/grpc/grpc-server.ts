// The router's gRPC server: m2.v1.GenerateService, grpc.health.v1.Health reporting the router's
// readiness (serving only while a replica is ready and no drain runs), and server reflection so
// tools like grpcurl can list and call the services without the .proto files.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as HEALTH_PROTO, type ServingStatus } from 'grpc-health-check';
import { dirname, join } from 'node:path';
import { LOADER_OPTIONS, loadGenerateProto, PROTO_DIR } from '../../proto/load.ts';
import type { RequestGateway } from '../request-gateway.ts';
import { generateServiceHandlers } from './generate-service.ts';

export const GENERATE_SERVICE_NAME = 'm2.v1.GenerateService';
/** How often gRPC health follows the gateway's readiness. */
const HEALTH_REFRESH_MS = 500;

export interface RunningGrpcServer {
  server: grpc.Server;
  port: number;
  /** Stops following readiness and reports NOT_SERVING (the start of a drain). */
  stopServing(): void;
}

export function bindAsync(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

export async function startGrpcServer(gateway: RequestGateway, host: string, port: number): Promise<RunningGrpcServer> {
  const server = new grpc.Server();
  server.addService(loadGenerateProto().m2.v1.GenerateService.service, generateServiceHandlers(gateway));

  const health = new HealthImplementation();
  let current: ServingStatus | undefined;
  const refresh = (status: ServingStatus = gateway.ready ? 'SERVING' : 'NOT_SERVING') => {
    if (status === current) return;
    current = status;
    health.setStatus('', status);
    health.setStatus(GENERATE_SERVICE_NAME, status);
  };
  refresh();
  const timer = setInterval(() => refresh(), HEALTH_REFRESH_MS);
  timer.unref();
  health.addToServer(server);

  const described = protoLoader.loadSync([join(PROTO_DIR, 'm2/v1/generate.proto'), HEALTH_PROTO], {
    ...LOADER_OPTIONS,
    includeDirs: [PROTO_DIR, dirname(HEALTH_PROTO)],
  });
  new ReflectionService(described).addToServer(server);

  const bound = await bindAsync(server, `${host.includes(':') ? `[${host}]` : host}:${port}`);
  return {
    server,
    port: bound,
    stopServing: () => {
      clearInterval(timer);
      refresh('NOT_SERVING');
    },
  };
}
