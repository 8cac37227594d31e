// A loopback TCP proxy whose connections can be severed, for outages without touching the server behind it: the
// chaos soak puts one between the gateway and a worker (its HTTP/2 connection — every Step stream, Health and
// Snapshot — breaks at once, as when a network path fails, while the worker keeps running), tests put one in front
// of Redis. While cut, new connections are refused (clients' reconnects fail and back off); resume() listens again
// on the same port.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Client connections severed so far. */
  readonly severed: number;
  /** Destroys every open connection and refuses new ones until resume(). */
  cut(): Promise<void>;
  resume(): Promise<void>;
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

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Socket>();
  let severed = 0;
  const make = (): Server =>
    createServer((client) => {
      const upstream = connect(targetPort, targetHost);
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
  const cut = async (): Promise<void> => {
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
    cut,
    async resume() {
      if (server) return;
      server = make();
      await listen(server, port);
    },
    close: cut,
  };
}
