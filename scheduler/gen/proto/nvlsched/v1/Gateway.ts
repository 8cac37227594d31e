// Original file: proto/nvlsched/v1/gateway.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelRequest as _nvlsched_v1_CancelRequest, CancelRequest__Output as _nvlsched_v1_CancelRequest__Output } from '../../nvlsched/v1/CancelRequest.js';
import type { CancelResponse as _nvlsched_v1_CancelResponse, CancelResponse__Output as _nvlsched_v1_CancelResponse__Output } from '../../nvlsched/v1/CancelResponse.js';
import type { GenerateRequest as _nvlsched_v1_GenerateRequest, GenerateRequest__Output as _nvlsched_v1_GenerateRequest__Output } from '../../nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse as _nvlsched_v1_GenerateResponse, GenerateResponse__Output as _nvlsched_v1_GenerateResponse__Output } from '../../nvlsched/v1/GenerateResponse.js';
import type { HealthRequest as _nvlsched_v1_HealthRequest, HealthRequest__Output as _nvlsched_v1_HealthRequest__Output } from '../../nvlsched/v1/HealthRequest.js';
import type { HealthResponse as _nvlsched_v1_HealthResponse, HealthResponse__Output as _nvlsched_v1_HealthResponse__Output } from '../../nvlsched/v1/HealthResponse.js';

export interface GatewayClient extends grpc.Client {
  Cancel(argument: _nvlsched_v1_CancelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _nvlsched_v1_CancelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _nvlsched_v1_CancelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _nvlsched_v1_CancelRequest, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _nvlsched_v1_CancelRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _nvlsched_v1_CancelRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _nvlsched_v1_CancelRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  cancel(argument: _nvlsched_v1_CancelRequest, callback: grpc.requestCallback<_nvlsched_v1_CancelResponse__Output>): grpc.ClientUnaryCall;
  
  Generate(argument: _nvlsched_v1_GenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_nvlsched_v1_GenerateResponse__Output>;
  Generate(argument: _nvlsched_v1_GenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_nvlsched_v1_GenerateResponse__Output>;
  generate(argument: _nvlsched_v1_GenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_nvlsched_v1_GenerateResponse__Output>;
  generate(argument: _nvlsched_v1_GenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_nvlsched_v1_GenerateResponse__Output>;
  
  Health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _nvlsched_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _nvlsched_v1_HealthRequest, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface GatewayHandlers extends grpc.UntypedServiceImplementation {
  Cancel: grpc.handleUnaryCall<_nvlsched_v1_CancelRequest__Output, _nvlsched_v1_CancelResponse>;
  
  Generate: grpc.handleServerStreamingCall<_nvlsched_v1_GenerateRequest__Output, _nvlsched_v1_GenerateResponse>;
  
  Health: grpc.handleUnaryCall<_nvlsched_v1_HealthRequest__Output, _nvlsched_v1_HealthResponse>;
  
}

export interface GatewayDefinition extends grpc.ServiceDefinition {
  Cancel: MethodDefinition<_nvlsched_v1_CancelRequest, _nvlsched_v1_CancelResponse, _nvlsched_v1_CancelRequest__Output, _nvlsched_v1_CancelResponse__Output>
  Generate: MethodDefinition<_nvlsched_v1_GenerateRequest, _nvlsched_v1_GenerateResponse, _nvlsched_v1_GenerateRequest__Output, _nvlsched_v1_GenerateResponse__Output>
  Health: MethodDefinition<_nvlsched_v1_HealthRequest, _nvlsched_v1_HealthResponse, _nvlsched_v1_HealthRequest__Output, _nvlsched_v1_HealthResponse__Output>
}
