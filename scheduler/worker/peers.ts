// This worker as a client of other workers (the KV hand-off's destination side): one channel per address, with the
// peer TLS material (rpc/tls.ts ClientTls: the CA the peers' certificates chain to, and this worker's client
// certificate when the peers require one). No material: insecure, like the gateway's default.
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { loadWorkerProto } from '../rpc/proto.js';
import { channelCredentials, readClientTls, type ClientTls, type ClientTlsPaths, type Names } from '../rpc/tls.js';
import { MAX_MESSAGE_BYTES } from './handoff_wire.js';

/** The worker flags of its peer TLS material (errors name them). */
export const PEER_CLIENT_NAMES: Names<ClientTlsPaths> = { ca: '--peer-tls-ca', cert: '--peer-tls-cert', key: '--peer-tls-key', serverName: '--peer-tls-server-name' };

/**
 * The peer TLS material from --peer-tls-ca/--peer-tls-cert/--peer-tls-key[/--peer-tls-server-name], checked now (a
 * bad file is a ConfigError naming the flag); null without flags. Separate from the server's --tls-* pair because a
 * worker's serving certificate usually carries serverAuth only, and a peer with --tls-client-ca checks clientAuth.
 */
export function readPeerTls(paths: ClientTlsPaths, nowMs = Date.now()): ClientTls | null {
  return readClientTls(paths, PEER_CLIENT_NAMES, nowMs);
}

export class PeerClients {
  private readonly clients = new Map<string, WorkerClient>();

  constructor(private readonly tls: ClientTls | null = null) {}

  get(address: string): WorkerClient {
    let client = this.clients.get(address);
    if (!client) {
      const proto = loadWorkerProto();
      const { credentials, options } = channelCredentials(this.tls);
      client = new proto.nvlsched.v1.Worker(address, credentials, {
        ...options,
        'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
