import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DrainRequest as _nvlsched_v1_DrainRequest, DrainRequest__Output as _nvlsched_v1_DrainRequest__Output } from './nvlsched/v1/DrainRequest.js';
import type { DrainResponse as _nvlsched_v1_DrainResponse, DrainResponse__Output as _nvlsched_v1_DrainResponse__Output } from './nvlsched/v1/DrainResponse.js';
import type { HealthRequest as _nvlsched_v1_HealthRequest, HealthRequest__Output as _nvlsched_v1_HealthRequest__Output } from './nvlsched/v1/HealthRequest.js';
import type { HealthResponse as _nvlsched_v1_HealthResponse, HealthResponse__Output as _nvlsched_v1_HealthResponse__Output } from './nvlsched/v1/HealthResponse.js';
import type { KvEvent as _nvlsched_v1_KvEvent, KvEvent__Output as _nvlsched_v1_KvEvent__Output } from './nvlsched/v1/KvEvent.js';
import type { KvMoved as _nvlsched_v1_KvMoved, KvMoved__Output as _nvlsched_v1_KvMoved__Output } from './nvlsched/v1/KvMoved.js';
import type { KvRemoved as _nvlsched_v1_KvRemoved, KvRemoved__Output as _nvlsched_v1_KvRemoved__Output } from './nvlsched/v1/KvRemoved.js';
import type { KvStored as _nvlsched_v1_KvStored, KvStored__Output as _nvlsched_v1_KvStored__Output } from './nvlsched/v1/KvStored.js';
import type { Location as _nvlsched_v1_Location, Location__Output as _nvlsched_v1_Location__Output } from './nvlsched/v1/Location.js';
import type { ScheduledSequence as _nvlsched_v1_ScheduledSequence, ScheduledSequence__Output as _nvlsched_v1_ScheduledSequence__Output } from './nvlsched/v1/ScheduledSequence.js';
import type { SequenceOutput as _nvlsched_v1_SequenceOutput, SequenceOutput__Output as _nvlsched_v1_SequenceOutput__Output } from './nvlsched/v1/SequenceOutput.js';
import type { SessionHold as _nvlsched_v1_SessionHold, SessionHold__Output as _nvlsched_v1_SessionHold__Output } from './nvlsched/v1/SessionHold.js';
import type { SessionMove as _nvlsched_v1_SessionMove, SessionMove__Output as _nvlsched_v1_SessionMove__Output } from './nvlsched/v1/SessionMove.js';
import type { SnapshotLocation as _nvlsched_v1_SnapshotLocation, SnapshotLocation__Output as _nvlsched_v1_SnapshotLocation__Output } from './nvlsched/v1/SnapshotLocation.js';
import type { SnapshotRequest as _nvlsched_v1_SnapshotRequest, SnapshotRequest__Output as _nvlsched_v1_SnapshotRequest__Output } from './nvlsched/v1/SnapshotRequest.js';
import type { SnapshotResponse as _nvlsched_v1_SnapshotResponse, SnapshotResponse__Output as _nvlsched_v1_SnapshotResponse__Output } from './nvlsched/v1/SnapshotResponse.js';
import type { StepPlan as _nvlsched_v1_StepPlan, StepPlan__Output as _nvlsched_v1_StepPlan__Output } from './nvlsched/v1/StepPlan.js';
import type { StepResult as _nvlsched_v1_StepResult, StepResult__Output as _nvlsched_v1_StepResult__Output } from './nvlsched/v1/StepResult.js';
import type { WorkerClient as _nvlsched_v1_WorkerClient, WorkerDefinition as _nvlsched_v1_WorkerDefinition } from './nvlsched/v1/Worker.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  nvlsched: {
    v1: {
      DrainRequest: MessageTypeDefinition<_nvlsched_v1_DrainRequest, _nvlsched_v1_DrainRequest__Output>
      DrainResponse: MessageTypeDefinition<_nvlsched_v1_DrainResponse, _nvlsched_v1_DrainResponse__Output>
      HealthRequest: MessageTypeDefinition<_nvlsched_v1_HealthRequest, _nvlsched_v1_HealthRequest__Output>
      HealthResponse: MessageTypeDefinition<_nvlsched_v1_HealthResponse, _nvlsched_v1_HealthResponse__Output>
      KvEvent: MessageTypeDefinition<_nvlsched_v1_KvEvent, _nvlsched_v1_KvEvent__Output>
      KvMoved: MessageTypeDefinition<_nvlsched_v1_KvMoved, _nvlsched_v1_KvMoved__Output>
      KvRemoved: MessageTypeDefinition<_nvlsched_v1_KvRemoved, _nvlsched_v1_KvRemoved__Output>
      KvStored: MessageTypeDefinition<_nvlsched_v1_KvStored, _nvlsched_v1_KvStored__Output>
      Location: MessageTypeDefinition<_nvlsched_v1_Location, _nvlsched_v1_Location__Output>
      ScheduledSequence: MessageTypeDefinition<_nvlsched_v1_ScheduledSequence, _nvlsched_v1_ScheduledSequence__Output>
      SequenceOutput: MessageTypeDefinition<_nvlsched_v1_SequenceOutput, _nvlsched_v1_SequenceOutput__Output>
      SessionHold: MessageTypeDefinition<_nvlsched_v1_SessionHold, _nvlsched_v1_SessionHold__Output>
      SessionMove: MessageTypeDefinition<_nvlsched_v1_SessionMove, _nvlsched_v1_SessionMove__Output>
      Shape: EnumTypeDefinition
      SnapshotLocation: MessageTypeDefinition<_nvlsched_v1_SnapshotLocation, _nvlsched_v1_SnapshotLocation__Output>
      SnapshotRequest: MessageTypeDefinition<_nvlsched_v1_SnapshotRequest, _nvlsched_v1_SnapshotRequest__Output>
      SnapshotResponse: MessageTypeDefinition<_nvlsched_v1_SnapshotResponse, _nvlsched_v1_SnapshotResponse__Output>
      StepPlan: MessageTypeDefinition<_nvlsched_v1_StepPlan, _nvlsched_v1_StepPlan__Output>
      StepResult: MessageTypeDefinition<_nvlsched_v1_StepResult, _nvlsched_v1_StepResult__Output>
      Tier: EnumTypeDefinition
      Worker: SubtypeConstructor<typeof grpc.Client, _nvlsched_v1_WorkerClient> & { service: _nvlsched_v1_WorkerDefinition }
    }
  }
}

