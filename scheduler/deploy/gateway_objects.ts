// The gateway's objects: a Deployment (one replica for now, Recreate so two gateways never drive the workers at
// once), its Service (gRPC, HTTP, metrics) and a PodDisruptionBudget. Probes hit the HTTP API's /health (200
// serving, 503 stopping); preStop waits until the gateway has no live requests (`nvlsched deploy drain --gateway`)
// before Kubernetes sends SIGTERM, which cancels whatever is left; the grace period is the drain time plus a margin.
import { createHash } from 'node:crypto';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
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

/** The serve args: the config file, the ports, every tray's worker in cluster order (rack-major). */
export function gatewayArgs(plan: DeployPlan): string[] {
  const p = plan.settings.ports;
  const workers: string[] = [];
  for (let r = 0; r < plan.cluster.racks; r++) for (let t = 0; t < plan.cluster.traysPerRack; t++) workers.push(workerAddress(plan, r, t));
  return [
    'serve', '--config', `${CONFIG_DIR}/${CONFIG_FILE}`, '--host', '0.0.0.0',
    '--grpc-port', String(p.grpc), '--http-port', String(p.http), '--metrics-port', String(p.metrics),
    '--workers', workers.join(','),
    // Batch jobs (and, with several gateways, replica sharing) on the configured Redis; Kubernetes expands $(VAR)
    // from the container's env.
    ...(redisUrl(plan) ? ['--redis', '$(REDIS_URL)'] : []),
    // API keys from the mounted Secret (re-read when the kubelet updates it: rotation without a restart), or none.
    ...(plan.settings.auth.kind === 'keys' ? ['--keys-file', `${KEYS_DIR}/${KEYS_FILE}`] : ['--insecure-no-auth']),
  ];
}

function gatewayContainer(plan: DeployPlan): IContainer {
  const s = plan.settings;
  const redis = redisUrl(plan);
  const env: IEnvVar[] = redis ? [{ name: 'REDIS_URL', value: redis }] : [];
  const health = { httpGet: { path: '/health', port: 'http' } };
  return {
    name: 'gateway',
    image: imageOf(plan, false),
    imagePullPolicy: s.image.pullPolicy,
    command: ['nvlsched'],
    args: gatewayArgs(plan),
    ports: [
      { name: 'grpc', containerPort: s.ports.grpc, protocol: 'TCP' },
      { name: 'http', containerPort: s.ports.http, protocol: 'TCP' },
      { name: 'metrics', containerPort: s.ports.metrics, protocol: 'TCP' },
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

export function gatewayDeployment(plan: DeployPlan): IDeployment {
  const names = namesOf(plan);
  const selector = selectorOf(plan, 'gateway');
  // A changed config changes the pod template, so `kubectl apply` rolls the gateway onto it.
  const configHash = createHash('sha256').update(plan.serveConfigYaml).digest('hex').slice(0, 16);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(plan, names.gateway, 'gateway'),
    spec: {
      replicas: plan.settings.gateway.replicas,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labelsOf(plan, 'gateway'), annotations: { [CONFIG_HASH_ANNOTATION]: configHash } },
        spec: {
          terminationGracePeriodSeconds: graceSeconds(plan, GRACE_MARGIN_S),
          enableServiceLinks: false,
          containers: [gatewayContainer(plan)],
          // The keys Secret is optional for the kubelet, so a missing one is the gateway's clear exit 2 (its log names
          // the file) rather than a pod stuck in ContainerCreating.
          volumes: [
            { name: 'config', configMap: { name: names.config } },
            ...(plan.settings.auth.kind === 'keys' ? [{ name: 'api-keys', secret: { secretName: plan.settings.auth.secret, optional: true } }] : []),
          ],
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } }],
        },
      },
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
    // With one replica this lets a node drain evict the gateway (after its preStop drain) instead of blocking it.
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(plan, 'gateway') } },
  };
}
