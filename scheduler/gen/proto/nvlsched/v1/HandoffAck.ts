// Original file: proto/nvlsched/v1/worker.proto

import type { HandoffTicketAck as _nvlsched_v1_HandoffTicketAck, HandoffTicketAck__Output as _nvlsched_v1_HandoffTicketAck__Output } from '../../nvlsched/v1/HandoffTicketAck.js';
import type { HandoffProgressAck as _nvlsched_v1_HandoffProgressAck, HandoffProgressAck__Output as _nvlsched_v1_HandoffProgressAck__Output } from '../../nvlsched/v1/HandoffProgressAck.js';
import type { HandoffCommitted as _nvlsched_v1_HandoffCommitted, HandoffCommitted__Output as _nvlsched_v1_HandoffCommitted__Output } from '../../nvlsched/v1/HandoffCommitted.js';

export interface HandoffAck {
  'ticket'?: (_nvlsched_v1_HandoffTicketAck | null);
  'progress'?: (_nvlsched_v1_HandoffProgressAck | null);
  'committed'?: (_nvlsched_v1_HandoffCommitted | null);
  'kind'?: "ticket"|"progress"|"committed";
}

export interface HandoffAck__Output {
  'ticket'?: (_nvlsched_v1_HandoffTicketAck__Output | null);
  'progress'?: (_nvlsched_v1_HandoffProgressAck__Output | null);
  'committed'?: (_nvlsched_v1_HandoffCommitted__Output | null);
  'kind'?: "ticket"|"progress"|"committed";
}
