// `nvlsched deploy render`: a deployment plan → the Kubernetes objects, in the order `kubectl apply -f` needs them
// (namespace, config, custom resources and Services before the workloads that use them), and → multi-document
// YAML with a header saying where it came from. Deterministic: the same config renders the same bytes, which is
// what lets deploy/k8s/default.yaml be checked against a fresh render.
import { stringify } from 'yaml';

import { gatewayDeployment, gatewayDisruptionBudget, gatewayService, replicated } from './gateway_objects.js';
import { gatewayPeerService, gatewayReplicaStatefulSet } from './gateway_replicas.js';
import type { Manifest } from './objects.js';
import type { DeployPlan } from './plan.js';
import { configMap, namespace, redisService, redisStatefulSet, serviceMonitor } from './shared_objects.js';
import { computeDomain, usesComputeDomain, workerDisruptionBudget, workerService, workerStatefulSet } from './worker_objects.js';

export function renderObjects(plan: DeployPlan): Manifest[] {
  const s = plan.settings;
  const racks = Array.from({ length: plan.cluster.racks }, (_, r) => r);
  const out: Manifest[] = [];
  if (s.createNamespace) out.push(namespace(plan));
  out.push(configMap(plan));
  if (usesComputeDomain(plan)) out.push(...racks.map((r) => computeDomain(plan, r)));
  if (s.redis.kind === 'internal') out.push(redisService(plan), redisStatefulSet(plan, s.redis.image));
  for (const r of racks) out.push(workerService(plan, r), workerDisruptionBudget(plan, r), workerStatefulSet(plan, r));
  out.push(gatewayService(plan), gatewayDisruptionBudget(plan));
  if (replicated(plan)) {
    out.push(gatewayPeerService(plan));
    for (let r = 0; r < s.gateway.replicas; r++) out.push(gatewayReplicaStatefulSet(plan, r));
  } else {
    out.push(gatewayDeployment(plan));
  }
  if (s.serviceMonitor.enabled) out.push(serviceMonitor(plan));
  return out;
}

export function header(plan: DeployPlan): string {
  const c = plan.cluster;
  return [
    `# nvlsched Kubernetes manifests rendered by \`nvlsched deploy render\` (source: ${plan.source}).`,
    '# Do not edit: change the config and render again (deploy/README.md).',
    `# Cluster ${c.preset}: ${c.racks} rack(s) of ${c.traysPerRack} trays x ${c.gpusPerTray} GPUs; ${c.instances} instances of ${c.model} at tensor parallel ${c.tensorParallel};`,
    `# namespace ${plan.settings.namespace}; worker backend ${plan.settings.worker.backend}${replicated(plan) ? `; ${plan.settings.gateway.replicas} gateway replicas (trays ${plan.gatewayTrays.map((t) => `${t[0]}-${t[t.length - 1]}`).join(', ')})` : ''}.`,
  ].join('\n');
}

export function renderYaml(plan: DeployPlan): string {
  const docs = renderObjects(plan).map((o) => stringify(o, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false }).trimEnd());
  return `${header(plan)}\n---\n${docs.join('\n---\n')}\n`;
}
