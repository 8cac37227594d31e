// The objects around gateway and workers: the Namespace, the ConfigMap holding the gateway's config file, Redis
// (a one-pod StatefulSet and its Service, when `deploy.redis.internal`), and the ServiceMonitor that has the
// Prometheus Operator scrape every `metrics` port of the gateway's and the workers' Services.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';

import { CONFIG_FILE, METRICS_LABEL, labelsOf, meta, namesOf, selectorOf, type ServiceMonitor } from './objects.js';
import type { DeployPlan } from './plan.js';

export function namespace(plan: DeployPlan): INamespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: plan.settings.namespace, labels: labelsOf(plan, undefined) } };
}

export function configMap(plan: DeployPlan): IConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(plan, namesOf(plan).config, 'gateway'), data: { [CONFIG_FILE]: plan.serveConfigYaml } };
}

const REDIS_PORT = 6379;

/** Redis for BullMQ queues (tuning trials) and, later, state shared by gateways. In memory: a restart empties it. */
export function redisStatefulSet(plan: DeployPlan, image: string): IStatefulSet {
  const name = namesOf(plan).redis;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(plan, name, 'redis'),
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: selectorOf(plan, 'redis') },
      template: {
        metadata: { labels: labelsOf(plan, 'redis') },
        spec: {
          enableServiceLinks: false,
          containers: [{
            name: 'redis',
            image,
            args: ['--save', '', '--appendonly', 'no'],
            ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
            readinessProbe: { exec: { command: ['redis-cli', 'ping'] }, periodSeconds: 5, timeoutSeconds: 2 },
            livenessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
            resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}

export function redisService(plan: DeployPlan): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(plan, namesOf(plan).redis, 'redis'),
    spec: { type: 'ClusterIP', selector: selectorOf(plan, 'redis'), ports: [{ name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' }] },
  };
}

export function serviceMonitor(plan: DeployPlan): ServiceMonitor {
  const sm = plan.settings.serviceMonitor;
  const base = meta(plan, namesOf(plan).serviceMonitor, undefined);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    // Extra labels: what the Prometheus's serviceMonitorSelector wants (kube-prometheus-stack: release: <name>).
    metadata: { ...base, labels: { ...base.labels, ...sm.labels } },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/instance': plan.settings.name, [METRICS_LABEL]: 'true' } },
      namespaceSelector: { matchNames: [plan.settings.namespace] },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: `${sm.intervalS}s`, scrapeTimeout: `${Math.min(10, sm.intervalS)}s` }],
    },
  };
}
