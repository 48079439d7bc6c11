// Loads the m2.v1 protos at run time with the same options the generated types in proto/gen
// were made with (`npm run proto:gen`), so the typed service constructors match the wire.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as WorkerProto } from './gen/worker.ts';
import type { ProtoGrpcType as CoordinatorProto } from './gen/coordinator.ts';
import type { ProtoGrpcType as GenerateProto } from './gen/generate.ts';

export const PROTO_DIR = dirname(fileURLToPath(import.meta.url));

export const LOADER_OPTIONS: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

function load<T>(file: string): T {
  const definition = protoLoader.loadSync(join(PROTO_DIR, file), LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition) as unknown as T;
}

export function loadWorkerProto(): WorkerProto {
  return load<WorkerProto>('m2/v1/worker.proto');
}

export function loadCoordinatorProto(): CoordinatorProto {
  return load<CoordinatorProto>('m2/v1/coordinator.proto');
}

export function loadGenerateProto(): GenerateProto {
  return load<GenerateProto>('m2/v1/generate.proto');
}
