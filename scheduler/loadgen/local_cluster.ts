// A gateway with simulated NVL72 workers on this machine, for `npm start` and tests of the live path: the workers
// are child `nvlsched worker` processes (startLocalWorkers; `pace: 'real'` makes every step take its modelled time),
// the gateway runs in this process (startGateway), as `nvlsched serve --local-workers N` wires them. close() stops
// the gateway, then the workers (each bounded).
import * as grpc from '@grpc/grpc-js';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startLocalWorkers, type LocalWorkers } from '../gateway/local_workers.js';
import { buildGatewayCluster } from '../gateway/topology.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { readClusterConfig } from '../sim/cluster.js';
import type { TargetInfo } from './loadgen.js';

export interface LocalClusterOptions {
  workers: number;
  cluster?: string;
  model?: string;
  policy?: string;
  pace?: 'none' | 'real';
  seed?: number;
  log?: (line: string) => void;
}

export interface LocalCluster {
  address: string;
  client: GatewayClient;
  gateway: RunningGateway;
  info: TargetInfo;
  /** The served engine's KV block size: workloads must chain their hashes at it. */
  blockTokens: number;
  maxContextTokens: number;
  instances: number;
  close(): Promise<void>;
}

export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const clusterName = o.cluster ?? 'gb200-nvl72';
  // Validates the cluster, model and worker count before any child starts.
  const topology = buildGatewayCluster({ cluster: clusterName, ...(o.model !== undefined ? { model: o.model } : {}), numWorkers: o.workers });
  const { cluster } = topology;
  const workers: LocalWorkers = await startLocalWorkers({
    count: o.workers,
    topology: readClusterConfig(clusterName, 'cluster').topology,
    model: cluster.model.name,
    tensorParallel: cluster.tensorParallel,
    pace: o.pace ?? 'real',
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({
      cluster: clusterName,
      model: cluster.model.name,
      workerPorts: workers.ports,
      grpcPort: 0,
      ...(o.policy !== undefined ? { policy: o.policy } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
  } catch (error) {
    await workers.stop();
    throw error;
  }
  const address = `127.0.0.1:${gateway.port}`;
  const client = loadGatewayProto().nvlsched.v1.Gateway;
  const c = new client(address, grpc.credentials.createInsecure());
  const gpus = topology.instances.reduce((n, i) => n + i.setup.members.reduce((k, m) => k + m.gpus.length, 0), 0);
  return {
    address,
    client: c,
    gateway,
    info: { policy: gateway.sched.policyName, cluster: cluster.name, model: cluster.model.name, gpus },
    blockTokens: cluster.engine.blockTokens,
    maxContextTokens: cluster.model.maxContextTokens,
    instances: topology.instances.length,
    async close() {
      c.close();
      await gateway.close();
      await workers.stop();
    },
  };
}
