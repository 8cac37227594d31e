// Test helpers for the deploy renderer: plans from inline configs, the rendered YAML parsed back the way
// Kubernetes reads it (YAML 1.1), and schema validation of each built-in object with kubernetes-models.
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

import { planFromText, type DeployPlan } from './plan.js';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: unknown; data?: unknown };

/** apiVersion/kind → the kubernetes-models class whose validate() checks the object against the OpenAPI schema. */
const MODELS: Readonly<Record<string, new (data: never) => { validate(): void }>> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Custom resources: no schema in kubernetes-models; their fields are checked by the tests themselves. */
export const CUSTOM_KINDS = new Set(['resource.nvidia.com/v1beta1/ComputeDomain', 'monitoring.coreos.com/v1/ServiceMonitor']);

export function kindOf(o: K8sObject): string {
  return `${o.apiVersion}/${o.kind}`;
}

/** Throws with the object's name and the schema's complaint; returns false for custom kinds (not validated here). */
export function validateObject(o: K8sObject): boolean {
  const Model = MODELS[kindOf(o)];
  if (!Model) {
    if (CUSTOM_KINDS.has(kindOf(o))) return false;
    throw new Error(`${kindOf(o)} ${o.metadata.name}: no schema to validate against`);
  }
  try {
    new Model(o as never).validate();
  } catch (error) {
    throw new Error(`${kindOf(o)} ${o.metadata.name}: ${(error as Error).message}`);
  }
  return true;
}

/** The rendered text as Kubernetes reads it: YAML 1.1 (where a bare `no` is false), every document an object. */
export function parseRendered(text: string): K8sObject[] {
  return parseAllDocuments(text, { version: '1.1' }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`document ${i}: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  }).filter((o) => o !== null);
}

export function plan(yamlText: string): DeployPlan {
  return planFromText(yamlText, 'test');
}

export function byKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** Whether every key/value of `selector` is among `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
