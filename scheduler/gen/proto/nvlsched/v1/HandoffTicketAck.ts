// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffTicketAck {
  'cachedBlocks'?: (number);
  'neededChunks'?: (number);
  'domainId'?: (string);
}

export interface HandoffTicketAck__Output {
  'cachedBlocks': (number);
  'neededChunks': (number);
  'domainId': (string);
}
