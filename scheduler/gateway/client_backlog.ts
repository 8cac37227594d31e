// Bytes written to one gRPC client stream and not yet taken by HTTP/2 (limits.maxClientBacklogBytes). grpc-js's
// ServerWritableStream is an object-mode Writable: its writableLength counts the messages written and not yet
// flushed (the one in HTTP/2 included), and it flushes them in order. So the bytes still queued are the sizes of the
// last `writableLength` messages written — kept here in a FIFO, without a callback per write (one write per decoding
// stream per step is the gateway's hot path). When the client keeps up, at most one message is queued.
export class MessageBacklog {
  private sizes: number[] = [];
  private head = 0;
  /** Bytes of the messages still queued, as of the last wrote(). */
  bytes = 0;

  /** After writing a message of `size` bytes; `queuedMessages` = the stream's writableLength now. Returns `bytes`. */
  wrote(size: number, queuedMessages: number): number {
    if (queuedMessages <= 1) {
      // Everything before this message has been flushed (or this one too).
      this.head = 0;
      this.sizes.length = 0;
      if (queuedMessages === 1) this.sizes.push(size);
      return (this.bytes = queuedMessages === 1 ? size : 0);
    }
    this.sizes.push(size);
    this.bytes += size;
    while (this.sizes.length - this.head > queuedMessages) this.bytes -= this.sizes[this.head++]!;
    // Drop the flushed prefix now and then so the array does not grow with the stream.
    if (this.head >= 1024 && this.head * 2 >= this.sizes.length) {
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return this.bytes;
  }
}
