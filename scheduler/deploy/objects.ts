// Shared pieces of the rendered manifests: object names, labels, the two custom resources the Kubernetes schemas
// do not cover (NVIDIA's ComputeDomain, Prometheus Operator's ServiceMonitor) and the union of everything rendered.
// The built-in kinds are typed with kubernetes-models' interfaces (type-only: nothing loads at run time), so a
// misspelt field is a compile error; the tests also validate every object against the schemas.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';

import type { DeployPlan } from './plan.js';

/** NVIDIA DRA driver (kubernetes-sigs/dra-driver-nvidia-gpu) api/nvidia.com/resource/v1beta1 ComputeDomain. */
export interface ComputeDomain {
  apiVersion: 'resource.nvidia.com/v1beta1';
  kind: 'ComputeDomain';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    /** 0 with the driver's default IMEXDaemonsWithDNSNames; membership follows the pods that claim the channel. */
    numNodes: number;
    channel: { resourceClaimTemplate: { name: string } };
  };
}

/** Prometheus Operator monitoring.coreos.com/v1 ServiceMonitor (the fields rendered). */
export interface ServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'ServiceMonitor';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: Array<{ port: string; path: string; interval: string; scrapeTimeout: string }>;
  };
}

export type Manifest = INamespace | IConfigMap | IService | IDeployment | IStatefulSet | IPodDisruptionBudget | ComputeDomain | ServiceMonitor;

/** The node label GPU Feature Discovery sets to "<ClusterUUID>.<CliqueId>": one value per NVLink domain. */
export const CLIQUE_LABEL = 'nvidia.com/gpu.clique';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
/** Set by the StatefulSet controller on each pod (Kubernetes ≥ 1.28): the ordinal, here the tray. */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const RACK_LABEL = 'nvlsched.io/rack';
/** On a gateway replica's StatefulSet and pod: its number (0..replicas-1), which fixes its share of the trays. */
export const GATEWAY_REPLICA_LABEL = 'nvlsched.io/gateway-replica';
/** On the Services whose `metrics` port the ServiceMonitor scrapes. */
export const METRICS_LABEL = 'nvlsched.io/metrics';
export const CONFIG_HASH_ANNOTATION = 'nvlsched.io/config-sha256';
/** Where the gateway reads its config (the ConfigMap's mount). */
export const CONFIG_DIR = '/etc/nvlsched';
export const CONFIG_FILE = 'config.yaml';
/** The name of the ComputeDomain claim inside a worker pod. */
export const CLAIM_NAME = 'compute-domain';

export type Component = 'gateway' | 'worker' | 'redis';

export interface Names {
  config: string;
  gateway: string;
  /** Replica r's StatefulSet (its pod is <this>-0, the replica id). */
  gatewayReplica(replica: number): string;
  /** The headless Service the replicas' StatefulSets name (pod DNS); clients use `gateway`. */
  gatewayPeers: string;
  redis: string;
  serviceMonitor: string;
  workers(rack: number): string;
  computeDomain(rack: number): string;
  channelTemplate(rack: number): string;
}

/** The scheduler's id of rack `rack`'s domain (rack0; node0 on HGX). */
export function domainOf(plan: DeployPlan, rack: number): string {
  return plan.cluster.domainIds[rack] ?? `rack${rack}`;
}

export function namesOf(plan: DeployPlan): Names {
  const n = plan.settings.name;
  return {
    config: `${n}-config`,
    gateway: `${n}-gateway`,
    gatewayReplica: (replica) => `${n}-gateway-r${replica}`,
    gatewayPeers: `${n}-gateway-peers`,
    redis: `${n}-redis`,
    serviceMonitor: n,
    workers: (rack) => `${n}-worker-${domainOf(plan, rack)}`,
    computeDomain: (rack) => `${n}-${domainOf(plan, rack)}`,
    channelTemplate: (rack) => `${n}-${domainOf(plan, rack)}-channel`,
  };
}

/** The labels that select one component's pods (and a rack's, for workers). */
export function selectorOf(plan: DeployPlan, component: Component, rack?: number): Record<string, string> {
  return {
    'app.kubernetes.io/instance': plan.settings.name,
    'app.kubernetes.io/component': component,
    ...(rack !== undefined ? { [RACK_LABEL]: String(rack) } : {}),
  };
}

export function labelsOf(plan: DeployPlan, component: Component | undefined, rack?: number): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'nvlsched',
    'app.kubernetes.io/part-of': 'nvlsched',
    'app.kubernetes.io/version': plan.settings.image.tag,
    'app.kubernetes.io/managed-by': 'nvlsched-deploy-render',
    ...(component ? selectorOf(plan, component, rack) : { 'app.kubernetes.io/instance': plan.settings.name }),
  };
}

export function meta(plan: DeployPlan, name: string, component: Component | undefined, rack?: number) {
  return { name, namespace: plan.settings.namespace, labels: labelsOf(plan, component, rack) };
}

/** <pod>.<headless service>.<namespace>.svc.<cluster domain>:<port> of tray `tray` in rack `rack`. */
export function workerAddress(plan: DeployPlan, rack: number, tray: number): string {
  const set = namesOf(plan).workers(rack);
  const s = plan.settings;
  return `${set}-${tray}.${set}.${s.namespace}.svc.${s.clusterDomain}:${s.ports.workerGrpc}`;
}

export function redisUrl(plan: DeployPlan): string | undefined {
  const r = plan.settings.redis;
  if (r.kind === 'external') return r.url;
  if (r.kind === 'internal') return `redis://${namesOf(plan).redis}.${plan.settings.namespace}.svc.${plan.settings.clusterDomain}:6379`;
  return undefined;
}

export function imageOf(plan: DeployPlan, cuda: boolean): string {
  const i = plan.settings.image;
  return `${i.repository}:${i.tag}${cuda ? '-cuda' : ''}`;
}

export function graceSeconds(plan: DeployPlan, marginS: number): number {
  return plan.settings.drainS + marginS;
}
