import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DrainRequest as _nvlsched_v1_DrainRequest, DrainRequest__Output as _nvlsched_v1_DrainRequest__Output } from './nvlsched/v1/DrainRequest.js';
import type { DrainResponse as _nvlsched_v1_DrainResponse, DrainResponse__Output as _nvlsched_v1_DrainResponse__Output } from './nvlsched/v1/DrainResponse.js';
import type { HandoffAck as _nvlsched_v1_HandoffAck, HandoffAck__Output as _nvlsched_v1_HandoffAck__Output } from './nvlsched/v1/HandoffAck.js';
import type { HandoffAppendRequest as _nvlsched_v1_HandoffAppendRequest, HandoffAppendRequest__Output as _nvlsched_v1_HandoffAppendRequest__Output } from './nvlsched/v1/HandoffAppendRequest.js';
import type { HandoffAppendResult as _nvlsched_v1_HandoffAppendResult, HandoffAppendResult__Output as _nvlsched_v1_HandoffAppendResult__Output } from './nvlsched/v1/HandoffAppendResult.js';
import type { HandoffCommit as _nvlsched_v1_HandoffCommit, HandoffCommit__Output as _nvlsched_v1_HandoffCommit__Output } from './nvlsched/v1/HandoffCommit.js';
import type { HandoffCommitted as _nvlsched_v1_HandoffCommitted, HandoffCommitted__Output as _nvlsched_v1_HandoffCommitted__Output } from './nvlsched/v1/HandoffCommitted.js';
import type { HandoffData as _nvlsched_v1_HandoffData, HandoffData__Output as _nvlsched_v1_HandoffData__Output } from './nvlsched/v1/HandoffData.js';
import type { HandoffOpen as _nvlsched_v1_HandoffOpen, HandoffOpen__Output as _nvlsched_v1_HandoffOpen__Output } from './nvlsched/v1/HandoffOpen.js';
import type { HandoffProgressAck as _nvlsched_v1_HandoffProgressAck, HandoffProgressAck__Output as _nvlsched_v1_HandoffProgressAck__Output } from './nvlsched/v1/HandoffProgressAck.js';
import type { HandoffSegment as _nvlsched_v1_HandoffSegment, HandoffSegment__Output as _nvlsched_v1_HandoffSegment__Output } from './nvlsched/v1/HandoffSegment.js';
import type { HandoffSendRequest as _nvlsched_v1_HandoffSendRequest, HandoffSendRequest__Output as _nvlsched_v1_HandoffSendRequest__Output } from './nvlsched/v1/HandoffSendRequest.js';
import type { HandoffSendResult as _nvlsched_v1_HandoffSendResult, HandoffSendResult__Output as _nvlsched_v1_HandoffSendResult__Output } from './nvlsched/v1/HandoffSendResult.js';
import type { HandoffTailRequest as _nvlsched_v1_HandoffTailRequest, HandoffTailRequest__Output as _nvlsched_v1_HandoffTailRequest__Output } from './nvlsched/v1/HandoffTailRequest.js';
import type { HandoffTailResult as _nvlsched_v1_HandoffTailResult, HandoffTailResult__Output as _nvlsched_v1_HandoffTailResult__Output } from './nvlsched/v1/HandoffTailResult.js';
import type { HandoffTicketAck as _nvlsched_v1_HandoffTicketAck, HandoffTicketAck__Output as _nvlsched_v1_HandoffTicketAck__Output } from './nvlsched/v1/HandoffTicketAck.js';
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
      HandoffAck: MessageTypeDefinition<_nvlsched_v1_HandoffAck, _nvlsched_v1_HandoffAck__Output>
      HandoffAppendRequest: MessageTypeDefinition<_nvlsched_v1_HandoffAppendRequest, _nvlsched_v1_HandoffAppendRequest__Output>
      HandoffAppendResult: MessageTypeDefinition<_nvlsched_v1_HandoffAppendResult, _nvlsched_v1_HandoffAppendResult__Output>
      HandoffCommit: MessageTypeDefinition<_nvlsched_v1_HandoffCommit, _nvlsched_v1_HandoffCommit__Output>
      HandoffCommitted: MessageTypeDefinition<_nvlsched_v1_HandoffCommitted, _nvlsched_v1_HandoffCommitted__Output>
      HandoffData: MessageTypeDefinition<_nvlsched_v1_HandoffData, _nvlsched_v1_HandoffData__Output>
      HandoffOpen: MessageTypeDefinition<_nvlsched_v1_HandoffOpen, _nvlsched_v1_HandoffOpen__Output>
      HandoffProgressAck: MessageTypeDefinition<_nvlsched_v1_HandoffProgressAck, _nvlsched_v1_HandoffProgressAck__Output>
      HandoffSegment: MessageTypeDefinition<_nvlsched_v1_HandoffSegment, _nvlsched_v1_HandoffSegment__Output>
      HandoffSendRequest: MessageTypeDefinition<_nvlsched_v1_HandoffSendRequest, _nvlsched_v1_HandoffSendRequest__Output>
      HandoffSendResult: MessageTypeDefinition<_nvlsched_v1_HandoffSendResult, _nvlsched_v1_HandoffSendResult__Output>
      HandoffTailRequest: MessageTypeDefinition<_nvlsched_v1_HandoffTailRequest, _nvlsched_v1_HandoffTailRequest__Output>
      HandoffTailResult: MessageTypeDefinition<_nvlsched_v1_HandoffTailResult, _nvlsched_v1_HandoffTailResult__Output>
      HandoffTicketAck: MessageTypeDefinition<_nvlsched_v1_HandoffTicketAck, _nvlsched_v1_HandoffTicketAck__Output>
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

