// The gateway's objects: a Deployment (one gateway, Recreate so two gateways never drive the workers at once) or,
// with replicas, a StatefulSet per replica (gateway_replicas.ts); the client Service (gRPC, HTTP, metrics) over
// every gateway pod and a PodDisruptionBudget. Probes hit the HTTP API's /health (200
// serving, 503 stopping); preStop waits until the gateway has no live requests (`nvlsched deploy drain --gateway`)
// before Kubernetes sends SIGTERM, which cancels whatever is left; the grace period is the drain time plus a margin.
import { createHash } from 'node:crypto';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IService } from 'kubernetes-models/v1/Service';

import { CONFIG_DIR, CONFIG_FILE, CONFIG_HASH_ANNOTATION, HOSTNAME_LABEL, METRICS_LABEL, imageOf, graceSeconds, labelsOf, meta, namesOf, redisUrl, selectorOf, workerAddress } from './objects.js';
import type { DeployPlan } from './plan.js';
import { GRACE_MARGIN_S } from './settings.js';

/** Seconds preStop waits before it looks at live requests: the time for the endpoint removal to reach every proxy. */
export const GATEWAY_SETTLE_S = 5;

/** Where the API keys Secret is mounted, and the Secret's key that holds the keys file. */
export const KEYS_DIR = '/etc/nvlsched/keys';
export const KEYS_FILE = 'keys.yaml';

/** The trays of replica `replica` (all of them with one gateway), as the DNS names of their worker pods. */
function workersOf(plan: DeployPlan, replica: number): string[] {
  const perRack = plan.cluster.traysPerRack;
  return (plan.gatewayTrays[replica] ?? []).map((t) => workerAddress(plan, Math.floor(t / perRack), t % perRack));
}

/** Whether the gateways are replicas (several, each on its share of the trays, meeting through Redis). */
export function replicated(plan: DeployPlan): boolean {
  return plan.settings.gateway.replicas > 1;
}

/**
 * The serve args: the config file, the ports, the workers of the trays it drives in cluster order (rack-major) —
 * every tray with one gateway; with replicas, its share (`--trays`) and the replica flags, whose values Kubernetes
 * expands from the container's env ($(VAR)): the pod name as the replica id, the pod IP as the address peers dial.
 */
export function gatewayArgs(plan: DeployPlan, replica = 0): string[] {
  const p = plan.settings.ports;
  const share = replicated(plan)
    ? ['--trays', (plan.gatewayTrays[replica] ?? []).join(','), '--replica-id', '$(NVLSCHED_REPLICA_ID)', '--peer-port', String(p.peer), '--advertise-host', '$(POD_IP)']
    : [];
  return [
    'serve', '--config', `${CONFIG_DIR}/${CONFIG_FILE}`, '--host', '0.0.0.0',
    '--grpc-port', String(p.grpc), '--http-port', String(p.http), '--metrics-port', String(p.metrics),
    '--workers', workersOf(plan, replica).join(','),
    // Batch jobs (and, with several gateways, replica sharing) on the configured Redis.
    ...(redisUrl(plan) ? ['--redis', '$(REDIS_URL)'] : []),
    ...share,
    // API keys from the mounted Secret (re-read when the kubelet updates it: rotation without a restart), or none.
    ...(plan.settings.auth.kind === 'keys' ? ['--keys-file', `${KEYS_DIR}/${KEYS_FILE}`] : ['--insecure-no-auth']),
  ];
}

function gatewayContainer(plan: DeployPlan, replica: number): IContainer {
  const s = plan.settings;
  const redis = redisUrl(plan);
  const env: IEnvVar[] = redis ? [{ name: 'REDIS_URL', value: redis }] : [];
  if (replicated(plan)) {
    // The pod name is stable under a StatefulSet (<set>-0), so a restarted replica keeps its id and the sessions
    // homed on it; the pod IP is what the other replicas dial on the peer port.
    env.push({ name: 'NVLSCHED_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    env.push({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
  }
  const health = { httpGet: { path: '/health', port: 'http' } };
  return {
    name: 'gateway',
    image: imageOf(plan, false),
    imagePullPolicy: s.image.pullPolicy,
    command: ['nvlsched'],
    args: gatewayArgs(plan, replica),
    ports: [
      { name: 'grpc', containerPort: s.ports.grpc, protocol: 'TCP' },
      { name: 'http', containerPort: s.ports.http, protocol: 'TCP' },
      { name: 'metrics', containerPort: s.ports.metrics, protocol: 'TCP' },
      ...(replicated(plan) ? [{ name: 'peer', containerPort: s.ports.peer, protocol: 'TCP' as const }] : []),
    ],
    env,
    // Start-up is the Scheduler and the servers (seconds); workers join later on their own (the driver re-probes).
    startupProbe: { ...health, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
    readinessProbe: { ...health, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 1 },
    livenessProbe: { ...health, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    lifecycle: {
      preStop: {
        exec: { command: ['nvlsched', 'deploy', 'drain', '--gateway', `http://127.0.0.1:${s.ports.http}`, '--settle', String(GATEWAY_SETTLE_S), '--timeout', String(s.drainS)] },
      },
    },
    resources: { requests: { cpu: s.gateway.cpu, memory: s.gateway.memory }, limits: { memory: s.gateway.memory } },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      ...(plan.settings.auth.kind === 'keys' ? [{ name: 'api-keys', mountPath: KEYS_DIR, readOnly: true }] : []),
    ],
  };
}

/** The pod template of replica `replica` (the only one with one gateway); `labels` select it. */
export function gatewayPodTemplate(plan: DeployPlan, replica: number, labels: Record<string, string>): IPodTemplateSpec {
  const names = namesOf(plan);
  // A changed config changes the pod template, so `kubectl apply` rolls the gateway onto it.
  const configHash = createHash('sha256').update(plan.serveConfigYaml).digest('hex').slice(0, 16);
  return {
    metadata: { labels, annotations: { [CONFIG_HASH_ANNOTATION]: configHash } },
    spec: {
      terminationGracePeriodSeconds: graceSeconds(plan, GRACE_MARGIN_S),
      enableServiceLinks: false,
      containers: [gatewayContainer(plan, replica)],
      // The keys Secret is optional for the kubelet, so a missing one is the gateway's clear exit 2 (its log names
      // the file) rather than a pod stuck in ContainerCreating.
      volumes: [
        { name: 'config', configMap: { name: names.config } },
        ...(plan.settings.auth.kind === 'keys' ? [{ name: 'api-keys', secret: { secretName: plan.settings.auth.secret, optional: true } }] : []),
      ],
      // Replicas spread over nodes: one node lost takes one share of the trays' gateway, not all.
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorOf(plan, 'gateway') } }],
    },
  };
}

/** One gateway: a Deployment of one pod, Recreate so that an old and a new pod never drive the workers at once. */
export function gatewayDeployment(plan: DeployPlan): IDeployment {
  const selector = selectorOf(plan, 'gateway');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(plan, namesOf(plan).gateway, 'gateway'),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: gatewayPodTemplate(plan, 0, labelsOf(plan, 'gateway')),
    },
  };
}

export function gatewayService(plan: DeployPlan): IService {
  const p = plan.settings.ports;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta(plan, namesOf(plan).gateway, 'gateway'), labels: { ...labelsOf(plan, 'gateway'), [METRICS_LABEL]: 'true' } },
    spec: {
      type: 'ClusterIP',
      selector: selectorOf(plan, 'gateway'),
      ports: [
        { name: 'grpc', port: p.grpc, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
        { name: 'http', port: p.http, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: p.metrics, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  };
}

export function gatewayDisruptionBudget(plan: DeployPlan): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(plan, namesOf(plan).gateway, 'gateway'),
    // With one gateway this lets a node drain evict it (after its preStop drain) instead of blocking; with replicas,
    // one at a time goes, so the others keep serving their trays and take the forwarded sessions' turns locally.
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(plan, 'gateway') } },
  };
}
