// A loopback TCP proxy between the gateway and one worker, whose connections the soak can sever: the gateway's
// HTTP/2 connection to the worker (every Step stream on it, and Health/Snapshot) breaks at once, as when a network
// path fails — the worker process keeps running and sees its streams end. While `down`, new connections are refused
// (the gateway's rejoin probes fail and back off); `up` accepts again on the same port. No worker change needed.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface CuttableProxy {
  port: number;
  /** Connections severed so far (each side of a pair counts once). */
  readonly severed: number;
  /** Destroys every open connection and refuses new ones until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const pairs = new Set<Socket>();
  let severed = 0;
  const make = (): Server =>
    createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      pairs.add(client);
      client.once('close', () => pairs.delete(client));
      client.pipe(upstream);
      upstream.pipe(client);
      // Either side going away takes the other with it (as a broken path does).
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  let server: Server | null = make();
  const port = await listen(server, 0);
  const down = async (): Promise<void> => {
    const s = server;
    server = null;
    for (const c of pairs) {
      severed++;
      c.destroy();
    }
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  return {
    port,
    get severed() {
      return severed;
    },
    down,
    async up() {
      if (server) return;
      server = make();
      await listen(server, port);
    },
    close: down,
  };
}
