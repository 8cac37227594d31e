// One rack's worker objects: a StatefulSet with one pod per compute tray (the pod's ordinal is its tray), the
// headless Service that gives each pod the DNS name the gateway dials, a PodDisruptionBudget (one tray at a time)
// and, on NVL72 racks, the ComputeDomain whose IMEX channel every pod of the rack claims.
// Placement on NVL72: every pod of rack r needs a node with the GFD clique label, shares a clique with the other
// pods of rack r (required pod affinity keyed by the label), avoids the cliques of the other racks and any node
// that already holds a tray (one tray per node). `deploy.cliques[r]` pins rack r to one clique value.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IService } from 'kubernetes-models/v1/Service';

import { CLAIM_NAME, domainOf, CLIQUE_LABEL, HOSTNAME_LABEL, METRICS_LABEL, POD_INDEX_LABEL, RACK_LABEL, graceSeconds, imageOf, labelsOf, meta, namesOf, selectorOf, type ComputeDomain } from './objects.js';
import type { DeployPlan } from './plan.js';
import { GRACE_MARGIN_S } from './settings.js';

const GIB = 2 ** 30;

/** Whether the rack's pods take GPUs, a ComputeDomain claim and clique placement. */
export function usesGpus(plan: DeployPlan): boolean {
  return plan.settings.worker.backend === 'cuda';
}

export function usesComputeDomain(plan: DeployPlan): boolean {
  return usesGpus(plan) && plan.cluster.multiNodeDomain && plan.settings.computeDomain;
}

/** The domain a rack's workers fall back to when neither the fabric nor the node label names one. */
export function configDomain(plan: DeployPlan, rack: number): string {
  return plan.settings.cliques[rack] ?? domainOf(plan, rack);
}

/**
 * Memory per worker pod: a CUDA worker pins its tray's Grace KV tier at start (scheduler/worker/sim_backend.ts
 * kvMemory), so the request covers the largest tray's tier plus an overhead for Node and the KV metadata.
 */
export function workerMemory(plan: DeployPlan): string {
  if (!usesGpus(plan)) return '4Gi';
  return `${Math.ceil(plan.cluster.maxHostKvBytesPerTray / GIB) + plan.settings.worker.memoryOverheadGi}Gi`;
}

export function workerArgs(plan: DeployPlan): string[] {
  const s = plan.settings;
  const f = plan.serveFlags;
  const optional = (flag: string): string[] => (f[flag] !== undefined ? [`--${flag}`, String(f[flag])] : []);
  return [
    'worker', '--host', '0.0.0.0', '--port', String(s.ports.workerGrpc), '--metrics-port', String(s.ports.workerMetrics),
    '--topology', plan.cluster.topology, '--tray', '$(NVLSCHED_TRAY)',
    '--model', plan.cluster.model, '--tensor-parallel', String(plan.cluster.tensorParallel),
    ...optional('kv-blocks'), ...optional('block-tokens'), ...optional('seed'),
    '--backend', s.worker.backend, '--pace', s.worker.pace, '--drain-timeout', String(s.drainS),
  ];
}

function workerEnv(plan: DeployPlan, rack: number): IEnvVar[] {
  return [
    { name: 'NVLSCHED_TRAY', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } } },
    { name: 'NVLSCHED_RACK', value: String(rack) },
    // Domain discovery (scheduler/deploy/discovery.ts): GPU fabric info first, then the node's clique label when
    // something copies it onto the pod (the downward API reads pod labels, not node labels), then this.
    { name: 'NVLSCHED_DOMAIN', value: configDomain(plan, rack) },
    { name: 'NVLSCHED_NODE_CLIQUE', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${CLIQUE_LABEL}']` } } },
    { name: 'NVLSCHED_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  ];
}

function workerContainer(plan: DeployPlan, rack: number): IContainer {
  const s = plan.settings;
  const gpus = usesGpus(plan);
  const memory = workerMemory(plan);
  const gpuCount = String(plan.cluster.gpusPerTray);
  const grpc = { tcpSocket: { port: 'grpc' } };
  return {
    name: 'worker',
    image: imageOf(plan, gpus),
    imagePullPolicy: s.image.pullPolicy,
    command: ['nvlsched'],
    args: workerArgs(plan),
    ports: [
      { name: 'grpc', containerPort: s.ports.workerGrpc, protocol: 'TCP' },
      { name: 'metrics', containerPort: s.ports.workerMetrics, protocol: 'TCP' },
    ],
    env: workerEnv(plan, rack),
    // The worker listens only once its KV pools exist (a CUDA worker allocates HBM and pins Grace first).
    startupProbe: { ...grpc, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 60 },
    livenessProbe: { ...grpc, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    // Ready = Health answers SERVING (not draining): rolling updates wait for it tray by tray.
    readinessProbe: {
      exec: { command: ['nvlsched', 'deploy', 'probe', '--worker', `127.0.0.1:${s.ports.workerGrpc}`] },
      periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 1,
    },
    // The worker refuses new sequences from here on (the gateway re-runs them elsewhere) and finishes its running
    // ones; SIGTERM then finds it idle and exits.
    lifecycle: { preStop: { exec: { command: ['nvlsched', 'deploy', 'drain', '--worker', `127.0.0.1:${s.ports.workerGrpc}`, '--timeout', String(s.drainS)] } } },
    resources: {
      requests: { cpu: s.worker.cpu, memory, ...(gpus ? { 'nvidia.com/gpu': gpuCount } : {}) },
      limits: { memory, ...(gpus ? { 'nvidia.com/gpu': gpuCount } : {}) },
      ...(usesComputeDomain(plan) ? { claims: [{ name: CLAIM_NAME }] } : {}),
    },
  };
}

function workerAffinity(plan: DeployPlan, rack: number): IAffinity | undefined {
  if (!usesGpus(plan)) return undefined;
  const oneTrayPerNode = { labelSelector: { matchLabels: selectorOf(plan, 'worker') }, topologyKey: HOSTNAME_LABEL };
  if (!plan.cluster.multiNodeDomain) return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [oneTrayPerNode] } };
  const pinned = plan.settings.cliques[rack];
  const others = { 'app.kubernetes.io/instance': plan.settings.name, 'app.kubernetes.io/component': 'worker' };
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [pinned ? { key: CLIQUE_LABEL, operator: 'In', values: [pinned] } : { key: CLIQUE_LABEL, operator: 'Exists' }] }],
      },
    },
    podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selectorOf(plan, 'worker', rack) }, topologyKey: CLIQUE_LABEL }] },
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        oneTrayPerNode,
        {
          labelSelector: { matchLabels: others, matchExpressions: [{ key: RACK_LABEL, operator: 'NotIn', values: [String(rack)] }] },
          topologyKey: CLIQUE_LABEL,
        },
      ],
    },
  };
}

export function workerStatefulSet(plan: DeployPlan, rack: number): IStatefulSet {
  const names = namesOf(plan);
  const gpus = usesGpus(plan);
  const affinity = workerAffinity(plan, rack);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(plan, names.workers(rack), 'worker', rack),
    spec: {
      serviceName: names.workers(rack),
      replicas: plan.cluster.traysPerRack,
      // Trays are independent processes: start them together; updates still go one pod at a time.
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorOf(plan, 'worker', rack) },
      template: {
        metadata: { labels: labelsOf(plan, 'worker', rack) },
        spec: {
          terminationGracePeriodSeconds: graceSeconds(plan, GRACE_MARGIN_S),
          enableServiceLinks: false,
          containers: [workerContainer(plan, rack)],
          ...(gpus ? { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } : {}),
          ...(affinity ? { affinity } : {}),
          ...(usesComputeDomain(plan) ? { resourceClaims: [{ name: CLAIM_NAME, resourceClaimTemplateName: names.channelTemplate(rack) }] } : {}),
        },
      },
    },
  };
}

/** Headless: one DNS name per pod; not-ready pods stay resolvable (the gateway has its own health checks). */
export function workerService(plan: DeployPlan, rack: number): IService {
  const p = plan.settings.ports;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta(plan, namesOf(plan).workers(rack), 'worker', rack), labels: { ...labelsOf(plan, 'worker', rack), [METRICS_LABEL]: 'true' } },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorOf(plan, 'worker', rack),
      ports: [
        { name: 'grpc', port: p.workerGrpc, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
        { name: 'metrics', port: p.workerMetrics, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  };
}

export function workerDisruptionBudget(plan: DeployPlan, rack: number): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(plan, namesOf(plan).workers(rack), 'worker', rack),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(plan, 'worker', rack) } },
  };
}

export function computeDomain(plan: DeployPlan, rack: number): ComputeDomain {
  const names = namesOf(plan);
  return {
    apiVersion: 'resource.nvidia.com/v1beta1',
    kind: 'ComputeDomain',
    metadata: meta(plan, names.computeDomain(rack), 'worker', rack),
    spec: { numNodes: 0, channel: { resourceClaimTemplate: { name: names.channelTemplate(rack) } } },
  };
}
