// Loads proto/ at run time with @grpc/proto-loader (protobufjs underneath). The options here must match the
// ones proto/gen.mjs passes to proto-loader-gen-types, so that the generated types describe what is loaded.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';

import type { ProtoGrpcType as GatewayProto } from '../gen/proto/gateway.js';
import type { ProtoGrpcType as WorkerProto } from '../gen/proto/worker.js';
import { packageRoot } from '../util/paths.js';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function load(file: string): grpc.GrpcObject {
  const protoRoot = path.join(packageRoot(), 'proto');
  const definition = protoLoader.loadSync(file, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot] });
  return grpc.loadPackageDefinition(definition);
}

export function loadGatewayProto(): GatewayProto {
  return load('nvlsched/v1/gateway.proto') as unknown as GatewayProto;
}

export function loadWorkerProto(): WorkerProto {
  return load('nvlsched/v1/worker.proto') as unknown as WorkerProto;
}
