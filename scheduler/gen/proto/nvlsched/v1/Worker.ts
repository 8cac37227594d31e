// Original file: proto/nvlsched/v1/worker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DrainRequest as _nvlsched_v1_DrainRequest, DrainRequest__Output as _nvlsched_v1_DrainRequest__Output } from '../../nvlsched/v1/DrainRequest.js';
import type { DrainResponse as _nvlsched_v1_DrainResponse, DrainResponse__Output as _nvlsched_v1_DrainResponse__Output } from '../../nvlsched/v1/DrainResponse.js';
import type { HandoffAck as _nvlsched_v1_HandoffAck, HandoffAck__Output as _nvlsched_v1_HandoffAck__Output } from '../../nvlsched/v1/HandoffAck.js';
import type { HandoffAppendRequest as _nvlsched_v1_HandoffAppendRequest, HandoffAppendRequest__Output as _nvlsched_v1_HandoffAppendRequest__Output } from '../../nvlsched/v1/HandoffAppendRequest.js';
import type { HandoffAppendResult as _nvlsched_v1_HandoffAppendResult, HandoffAppendResult__Output as _nvlsched_v1_HandoffAppendResult__Output } from '../../nvlsched/v1/HandoffAppendResult.js';
import type { HandoffSegment as _nvlsched_v1_HandoffSegment, HandoffSegment__Output as _nvlsched_v1_HandoffSegment__Output } from '../../nvlsched/v1/HandoffSegment.js';
import type { HandoffSendRequest as _nvlsched_v1_HandoffSendRequest, HandoffSendRequest__Output as _nvlsched_v1_HandoffSendRequest__Output } from '../../nvlsched/v1/HandoffSendRequest.js';
import type { HandoffSendResult as _nvlsched_v1_HandoffSendResult, HandoffSendResult__Output as _nvlsched_v1_HandoffSendResult__Output } from '../../nvlsched/v1/HandoffSendResult.js';
import type { HandoffTailRequest as _nvlsched_v1_HandoffTailRequest, HandoffTailRequest__Output as _nvlsched_v1_HandoffTailRequest__Output } from '../../nvlsched/v1/HandoffTailRequest.js';
import type { HandoffTailResult as _nvlsched_v1_HandoffTailResult, HandoffTailResult__Output as _nvlsched_v1_HandoffTailResult__Output } from '../../nvlsched/v1/HandoffTailResult.js';
import type { HealthRequest as _nvlsched_v1_HealthRequest, HealthRequest__Output as _nvlsched_v1_HealthRequest__Output } from '../../nvlsched/v1/HealthRequest.js';
import type { HealthResponse as _nvlsched_v1_HealthResponse, HealthResponse__Output as _nvlsched_v1_HealthResponse__Output } from '../../nvlsched/v1/HealthResponse.js';
import type { SnapshotRequest as _nvlsched_v1_SnapshotRequest, SnapshotRequest__Output as _nvlsched_v1_SnapshotRequest__Output } from '../../nvlsched/v1/SnapshotRequest.js';
import type { SnapshotResponse as _nvlsched_v1_SnapshotResponse, SnapshotResponse__Output as _nvlsched_v1_SnapshotResponse__Output } from '../../nvlsched/v1/SnapshotResponse.js';
import type { StepPlan as _nvlsched_v1_StepPlan, StepPlan__Output as _nvlsched_v1_StepPlan__Output } from '../../nvlsched/v1/StepPlan.js';
import type { StepResult as _nvlsched_v1_StepResult, StepResult__Output as _nvlsched_v1_StepResult__Output } from '../../nvlsched/v1/StepResult.js';

export interface WorkerClient extends grpc.Client {
  Drain(argument: _nvlsched_v1_DrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  Drain(argument: _nvlsched_v1_DrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  Drain(argument: _nvlsched_v1_DrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  Drain(argument: _nvlsched_v1_DrainRequest, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  drain(argument: _nvlsched_v1_DrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  drain(argument: _nvlsched_v1_DrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  drain(argument: _nvlsched_v1_DrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  drain(argument: _nvlsched_v1_DrainRequest, callback: grpc.requestCallback<_nvlsched_v1_DrainResponse__Output>): grpc.ClientUnaryCall;
  
  HandoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  HandoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  HandoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  HandoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  handoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  handoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  handoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  handoffAppend(argument: _nvlsched_v1_HandoffAppendRequest, callback: grpc.requestCallback<_nvlsched_v1_HandoffAppendResult__Output>): grpc.ClientUnaryCall;
  
  HandoffReceive(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_HandoffSegment, _nvlsched_v1_HandoffAck__Output>;
  HandoffReceive(options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_HandoffSegment, _nvlsched_v1_HandoffAck__Output>;
  handoffReceive(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_HandoffSegment, _nvlsched_v1_HandoffAck__Output>;
  handoffReceive(options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_HandoffSegment, _nvlsched_v1_HandoffAck__Output>;
  
  HandoffSend(argument: _nvlsched_v1_HandoffSendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  HandoffSend(argument: _nvlsched_v1_HandoffSendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  HandoffSend(argument: _nvlsched_v1_HandoffSendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  HandoffSend(argument: _nvlsched_v1_HandoffSendRequest, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  handoffSend(argument: _nvlsched_v1_HandoffSendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  handoffSend(argument: _nvlsched_v1_HandoffSendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  handoffSend(argument: _nvlsched_v1_HandoffSendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  handoffSend(argument: _nvlsched_v1_HandoffSendRequest, callback: grpc.requestCallback<_nvlsched_v1_HandoffSendResult__Output>): grpc.ClientUnaryCall;
  
  HandoffTail(argument: _nvlsched_v1_HandoffTailRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  HandoffTail(argument: _nvlsched_v1_HandoffTailRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  HandoffTail(argument: _nvlsched_v1_HandoffTailRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  HandoffTail(argument: _nvlsched_v1_HandoffTailRequest, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  handoffTail(argument: _nvlsched_v1_HandoffTailRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  handoffTail(argument: _nvlsched_v1_HandoffTailRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  handoffTail(argument: _nvlsched_v1_HandoffTailRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  handoffTail(argument: _nvlsched_v1_HandoffTailRequest, callback: grpc.requestCallback<_nvlsched_v1_HandoffTailResult__Output>): grpc.ClientUnaryCall;
  
  Health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _nvlsched_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _nvlsched_v1_HealthRequest, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _nvlsched_v1_HealthRequest, callback: grpc.requestCallback<_nvlsched_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  
  Snapshot(argument: _nvlsched_v1_SnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  Snapshot(argument: _nvlsched_v1_SnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  Snapshot(argument: _nvlsched_v1_SnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  Snapshot(argument: _nvlsched_v1_SnapshotRequest, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _nvlsched_v1_SnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _nvlsched_v1_SnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _nvlsched_v1_SnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _nvlsched_v1_SnapshotRequest, callback: grpc.requestCallback<_nvlsched_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  
  Step(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_StepPlan, _nvlsched_v1_StepResult__Output>;
  Step(options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_StepPlan, _nvlsched_v1_StepResult__Output>;
  step(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_StepPlan, _nvlsched_v1_StepResult__Output>;
  step(options?: grpc.CallOptions): grpc.ClientDuplexStream<_nvlsched_v1_StepPlan, _nvlsched_v1_StepResult__Output>;
  
}

export interface WorkerHandlers extends grpc.UntypedServiceImplementation {
  Drain: grpc.handleUnaryCall<_nvlsched_v1_DrainRequest__Output, _nvlsched_v1_DrainResponse>;
  
  HandoffAppend: grpc.handleUnaryCall<_nvlsched_v1_HandoffAppendRequest__Output, _nvlsched_v1_HandoffAppendResult>;
  
  HandoffReceive: grpc.handleBidiStreamingCall<_nvlsched_v1_HandoffSegment__Output, _nvlsched_v1_HandoffAck>;
  
  HandoffSend: grpc.handleUnaryCall<_nvlsched_v1_HandoffSendRequest__Output, _nvlsched_v1_HandoffSendResult>;
  
  HandoffTail: grpc.handleUnaryCall<_nvlsched_v1_HandoffTailRequest__Output, _nvlsched_v1_HandoffTailResult>;
  
  Health: grpc.handleUnaryCall<_nvlsched_v1_HealthRequest__Output, _nvlsched_v1_HealthResponse>;
  
  Snapshot: grpc.handleUnaryCall<_nvlsched_v1_SnapshotRequest__Output, _nvlsched_v1_SnapshotResponse>;
  
  Step: grpc.handleBidiStreamingCall<_nvlsched_v1_StepPlan__Output, _nvlsched_v1_StepResult>;
  
}

export interface WorkerDefinition extends grpc.ServiceDefinition {
  Drain: MethodDefinition<_nvlsched_v1_DrainRequest, _nvlsched_v1_DrainResponse, _nvlsched_v1_DrainRequest__Output, _nvlsched_v1_DrainResponse__Output>
  HandoffAppend: MethodDefinition<_nvlsched_v1_HandoffAppendRequest, _nvlsched_v1_HandoffAppendResult, _nvlsched_v1_HandoffAppendRequest__Output, _nvlsched_v1_HandoffAppendResult__Output>
  HandoffReceive: MethodDefinition<_nvlsched_v1_HandoffSegment, _nvlsched_v1_HandoffAck, _nvlsched_v1_HandoffSegment__Output, _nvlsched_v1_HandoffAck__Output>
  HandoffSend: MethodDefinition<_nvlsched_v1_HandoffSendRequest, _nvlsched_v1_HandoffSendResult, _nvlsched_v1_HandoffSendRequest__Output, _nvlsched_v1_HandoffSendResult__Output>
  HandoffTail: MethodDefinition<_nvlsched_v1_HandoffTailRequest, _nvlsched_v1_HandoffTailResult, _nvlsched_v1_HandoffTailRequest__Output, _nvlsched_v1_HandoffTailResult__Output>
  Health: MethodDefinition<_nvlsched_v1_HealthRequest, _nvlsched_v1_HealthResponse, _nvlsched_v1_HealthRequest__Output, _nvlsched_v1_HealthResponse__Output>
  Snapshot: MethodDefinition<_nvlsched_v1_SnapshotRequest, _nvlsched_v1_SnapshotResponse, _nvlsched_v1_SnapshotRequest__Output, _nvlsched_v1_SnapshotResponse__Output>
  Step: MethodDefinition<_nvlsched_v1_StepPlan, _nvlsched_v1_StepResult, _nvlsched_v1_StepPlan__Output, _nvlsched_v1_StepResult__Output>
}
