import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { HealthRequest as _nvlsched_v1_HealthRequest, HealthRequest__Output as _nvlsched_v1_HealthRequest__Output } from './nvlsched/v1/HealthRequest.js';
import type { HealthResponse as _nvlsched_v1_HealthResponse, HealthResponse__Output as _nvlsched_v1_HealthResponse__Output } from './nvlsched/v1/HealthResponse.js';
import type { KvEvent as _nvlsched_v1_KvEvent, KvEvent__Output as _nvlsched_v1_KvEvent__Output } from './nvlsched/v1/KvEvent.js';
import type { KvMoved as _nvlsched_v1_KvMoved, KvMoved__Output as _nvlsched_v1_KvMoved__Output } from './nvlsched/v1/KvMoved.js';
import type { KvRemoved as _nvlsched_v1_KvRemoved, KvRemoved__Output as _nvlsched_v1_KvRemoved__Output } from './nvlsched/v1/KvRemoved.js';
import type { KvStored as _nvlsched_v1_KvStored, KvStored__Output as _nvlsched_v1_KvStored__Output } from './nvlsched/v1/KvStored.js';
import type { Location as _nvlsched_v1_Location, Location__Output as _nvlsched_v1_Location__Output } from './nvlsched/v1/Location.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  nvlsched: {
    v1: {
      HealthRequest: MessageTypeDefinition<_nvlsched_v1_HealthRequest, _nvlsched_v1_HealthRequest__Output>
      HealthResponse: MessageTypeDefinition<_nvlsched_v1_HealthResponse, _nvlsched_v1_HealthResponse__Output>
      KvEvent: MessageTypeDefinition<_nvlsched_v1_KvEvent, _nvlsched_v1_KvEvent__Output>
      KvMoved: MessageTypeDefinition<_nvlsched_v1_KvMoved, _nvlsched_v1_KvMoved__Output>
      KvRemoved: MessageTypeDefinition<_nvlsched_v1_KvRemoved, _nvlsched_v1_KvRemoved__Output>
      KvStored: MessageTypeDefinition<_nvlsched_v1_KvStored, _nvlsched_v1_KvStored__Output>
      Location: MessageTypeDefinition<_nvlsched_v1_Location, _nvlsched_v1_Location__Output>
      Shape: EnumTypeDefinition
      Tier: EnumTypeDefinition
    }
  }
}

