// Several gateway replicas (deploy.gateway.replicas > 1): one StatefulSet of one pod per replica, each driving its
// own share of the trays (`serve --trays`, gateway_partition.ts) and meeting the others through Redis, where they
// share session homes and KV summaries and forward a request to the replica holding its context over the peer port
// (scheduler/gateway/replica). A StatefulSet, not a Deployment: its pod name is stable, so a restarted replica keeps
// its id (and the sessions homed on it), and it never runs an old and a new pod at once (two drivers of one tray
// would collide on its sequences and KV). The client Service and the budget (gateway_objects.ts) span all replicas.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';

import { gatewayPodTemplate } from './gateway_objects.js';
import { GATEWAY_REPLICA_LABEL, labelsOf, meta, namesOf, selectorOf } from './objects.js';
import type { DeployPlan } from './plan.js';

export function gatewayReplicaSelector(plan: DeployPlan, replica: number): Record<string, string> {
  return { ...selectorOf(plan, 'gateway'), [GATEWAY_REPLICA_LABEL]: String(replica) };
}

export function gatewayReplicaStatefulSet(plan: DeployPlan, replica: number): IStatefulSet {
  const names = namesOf(plan);
  const labels = { ...labelsOf(plan, 'gateway'), [GATEWAY_REPLICA_LABEL]: String(replica) };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { ...meta(plan, names.gatewayReplica(replica), 'gateway'), labels },
    spec: {
      serviceName: names.gatewayPeers,
      replicas: 1,
      // OrderedReady + one pod: the old pod is gone before its successor starts.
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: gatewayReplicaSelector(plan, replica) },
      template: gatewayPodTemplate(plan, replica, labels),
    },
  };
}

/** Headless: a DNS name per replica pod (the StatefulSets' serviceName); peers dial the pod IP they advertise. */
export function gatewayPeerService(plan: DeployPlan): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(plan, namesOf(plan).gatewayPeers, 'gateway'),
    spec: {
      clusterIP: 'None',
      selector: selectorOf(plan, 'gateway'),
      ports: [{ name: 'peer', port: plan.settings.ports.peer, targetPort: 'peer', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
    },
  };
}
