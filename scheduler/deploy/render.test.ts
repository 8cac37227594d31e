// The rendered manifests: every built-in object passes the Kubernetes schema (kubernetes-models), the YAML reads
// back as Kubernetes reads it, and the invariants hold — each rack's worker pods pinned to one clique and kept out
// of the other racks', GPU requests and ComputeDomain claims consistent, probes and drain hooks on every pod, the
// grace period above the drain, Services and monitors selecting what exists, the gateway's worker list naming pods
// that the StatefulSets create.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';

import { parseServeConfig } from '../cli/serve_config.js';
import { CLIQUE_LABEL, CONFIG_DIR, CONFIG_FILE, HOSTNAME_LABEL, type ComputeDomain, type ServiceMonitor } from './objects.js';
import { DEFAULT_DEPLOY_CONFIG_YAML } from './plan.js';
import { renderObjects, renderYaml } from './render.js';
import { SERVE_FLAGS } from './serve_flags.js';
import { GRACE_MARGIN_S } from './settings.js';
import { byKind, parseRendered, plan, selects, validateObject, type K8sObject } from './testing.js';

interface Container { name: string; args: string[]; ports: Array<{ name: string }>; resources: { requests?: Record<string, string>; limits?: Record<string, string>; claims?: Array<{ name: string }> }; startupProbe?: unknown; readinessProbe?: unknown; livenessProbe?: unknown; lifecycle?: { preStop?: { exec?: { command: string[] } } } }
interface PodSpec { containers: Container[]; terminationGracePeriodSeconds?: number; resourceClaims?: Array<{ name: string; resourceClaimTemplateName: string }>; affinity?: Affinity }
interface Affinity {
  nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: Array<{ matchExpressions: Array<{ key: string; operator: string; values?: string[] }> }> } };
  podAffinity?: { requiredDuringSchedulingIgnoredDuringExecution: Term[] };
  podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution: Term[] };
}
interface Term { labelSelector: { matchLabels: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values: string[] }> }; topologyKey: string }
interface Workload { replicas: number; serviceName?: string; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }

const MULTI = `
serve: {cluster: gb300-nvl72x3, model: deepseek-r1}
deploy:
  namespace: prod
  drainSeconds: 120
  cliques: ["50000000-0000-0000-0000-000000000005.4000000004"]
  redis: {url: "redis://redis.example:6379"}
`;
const SIM = `serve: {cluster: gb200-nvl72x2}\ndeploy: {worker: {backend: sim}, redis: {internal: false}, serviceMonitor: {enabled: false}, createNamespace: false}\n`;

const CASES = [
  { name: 'the default (one GB200 NVL72 rack)', text: DEFAULT_DEPLOY_CONFIG_YAML, racks: 1, trays: 18, gpus: 4, drainS: 60, cuda: true },
  { name: 'three GB300 racks, one pinned to a clique', text: MULTI, racks: 3, trays: 18, gpus: 4, drainS: 120, cuda: true },
  { name: 'CPU-only sim workers on two racks', text: SIM, racks: 2, trays: 18, gpus: 0, drainS: 60, cuda: false },
];

const spec = <T>(o: K8sObject): T => o.spec as T;
const workloads = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'worker');

for (const c of CASES) {
  test(`${c.name}: every object passes the Kubernetes schema, and the YAML reads back as rendered`, () => {
    const p = plan(c.text);
    const text = renderYaml(p);
    const parsed = parseRendered(text);
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(renderObjects(p))));
    const validated = parsed.filter((o) => validateObject(o));
    assert.ok(validated.length >= 7, `validated ${validated.length} objects`);
    // Names are unique per kind.
    const keys = parsed.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  test(`${c.name}: one worker StatefulSet per rack, a pod per tray, GPUs and claims consistent`, () => {
    const objects = parseRendered(renderYaml(plan(c.text)));
    const sets = workloads(objects);
    assert.equal(sets.length, c.racks);
    const domains = byKind(objects, 'ComputeDomain') as unknown as ComputeDomain[];
    assert.equal(domains.length, c.cuda ? c.racks : 0);
    const templates = new Set(domains.map((d) => d.spec.channel.resourceClaimTemplate.name));
    assert.equal(templates.size, domains.length, 'one channel template per ComputeDomain');
    for (const d of domains) assert.equal(d.spec.numNodes, 0);
    for (const set of sets) {
      const w = spec<Workload>(set);
      assert.equal(w.replicas, c.trays);
      assert.ok(selects(w.selector.matchLabels, w.template.metadata.labels));
      const pod = w.template.spec;
      const [container] = pod.containers;
      assert.ok(container);
      const r = container.resources;
      if (c.cuda) {
        assert.equal(r.limits?.['nvidia.com/gpu'], String(c.gpus));
        assert.equal(r.requests?.['nvidia.com/gpu'], String(c.gpus));
        const claims = (r.claims ?? []).map((x) => x.name);
        assert.deepEqual(claims, (pod.resourceClaims ?? []).map((x) => x.name), 'each claim the container uses is declared by the pod');
        assert.equal(pod.resourceClaims?.length, 1);
        assert.ok(templates.has(pod.resourceClaims?.[0]?.resourceClaimTemplateName ?? ''), 'the claim names a rendered ComputeDomain\'s channel template');
        templates.delete(pod.resourceClaims?.[0]?.resourceClaimTemplateName ?? '');
      } else {
        assert.equal(r.limits?.['nvidia.com/gpu'], undefined);
        assert.equal(pod.resourceClaims, undefined);
        assert.equal(r.claims, undefined);
      }
    }
    assert.equal(templates.size, 0, 'every ComputeDomain is claimed by exactly one rack');
  });

  test(`${c.name}: probes and drain hooks on every pod; grace period = drain + margin`, () => {
    const objects = parseRendered(renderYaml(plan(c.text)));
    const gateway = byKind(objects, 'Deployment');
    assert.equal(gateway.length, 1);
    for (const o of [...gateway, ...workloads(objects)]) {
      const pod = spec<Workload>(o).template.spec;
      assert.equal(pod.terminationGracePeriodSeconds, c.drainS + GRACE_MARGIN_S, o.metadata.name);
      for (const k of pod.containers) {
        assert.ok(k.startupProbe && k.readinessProbe && k.livenessProbe, `${o.metadata.name}: all three probes`);
        const hook = k.lifecycle?.preStop?.exec?.command ?? [];
        assert.deepEqual(hook.slice(0, 3), ['nvlsched', 'deploy', 'drain'], `${o.metadata.name}: preStop drains`);
        const timeout = Number(hook[hook.indexOf('--timeout') + 1]);
        assert.equal(timeout, c.drainS);
        assert.ok(timeout < (pod.terminationGracePeriodSeconds ?? 0), 'the drain ends before SIGKILL');
      }
    }
    for (const set of workloads(objects)) {
      const args = spec<Workload>(set).template.spec.containers[0]?.args ?? [];
      assert.equal(args[args.indexOf('--drain-timeout') + 1], String(c.drainS), 'SIGTERM drains as long as preStop would');
    }
  });
}

test('NVL72 placement: each rack pinned to one clique, kept off the others\' cliques and one tray per node', () => {
  const objects = parseRendered(renderYaml(plan(MULTI)));
  const sets = workloads(objects);
  for (const [rack, set] of sets.entries()) {
    const w = spec<Workload>(set);
    const a = w.template.spec.affinity;
    assert.ok(a?.nodeAffinity && a.podAffinity && a.podAntiAffinity, set.metadata.name);
    const expr = a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.map((t) => t.matchExpressions.find((e) => e.key === CLIQUE_LABEL));
    assert.ok(expr.every((e) => e !== undefined), 'every node term requires the clique label');
    if (rack === 0) assert.deepEqual(expr[0], { key: CLIQUE_LABEL, operator: 'In', values: ['50000000-0000-0000-0000-000000000005.4000000004'] });
    else assert.deepEqual(expr[0], { key: CLIQUE_LABEL, operator: 'Exists' });
    const together = a.podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    assert.equal(together.length, 1);
    assert.equal(together[0]?.topologyKey, CLIQUE_LABEL);
    assert.deepEqual(together[0]?.labelSelector.matchLabels, w.selector.matchLabels, 'affinity to its own rack\'s pods');
    const apart = a.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    const otherRacks = apart.find((t) => t.topologyKey === CLIQUE_LABEL);
    assert.deepEqual(otherRacks?.labelSelector.matchExpressions, [{ key: 'nvlsched.io/rack', operator: 'NotIn', values: [String(rack)] }]);
    assert.ok(apart.some((t) => t.topologyKey === HOSTNAME_LABEL), 'one tray per node');
    // The other racks' pods match the anti-affinity; this rack's do not.
    for (const [other, s2] of sets.entries()) {
      const labels = spec<Workload>(s2).template.metadata.labels;
      const matches: boolean = selects(otherRacks?.labelSelector.matchLabels, labels) && labels['nvlsched.io/rack'] !== String(rack);
      assert.equal(matches, other !== rack);
    }
  }
});

test('the gateway dials every tray pod by its DNS name, in cluster order', () => {
  const p = plan(MULTI);
  const objects = parseRendered(renderYaml(p));
  const args = spec<Workload>(byKind(objects, 'Deployment')[0] as K8sObject).template.spec.containers[0]?.args ?? [];
  const workers = (args[args.indexOf('--workers') + 1] ?? '').split(',');
  assert.equal(workers.length, 3 * 18);
  const sets = workloads(objects);
  workers.forEach((address, i) => {
    const m = /^([a-z0-9-]+)-([0-9]+)\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:([0-9]+)$/.exec(address);
    assert.ok(m, address);
    const set = sets[Math.floor(i / 18)] as K8sObject;
    assert.equal(m[1], set.metadata.name);
    assert.equal(Number(m[2]), i % 18, 'the ordinal is the tray');
    assert.equal(m[3], spec<Workload>(set).serviceName);
    assert.equal(m[4], 'prod');
    assert.equal(Number(m[5]), p.settings.ports.workerGrpc);
  });
  const headless = byKind(objects, 'Service').filter((s) => spec<{ clusterIP?: string }>(s).clusterIP === 'None');
  assert.equal(headless.length, 3);
  for (const s of headless) assert.equal(spec<{ publishNotReadyAddresses: boolean }>(s).publishNotReadyAddresses, true);
});

test('the gateway takes API keys from the mounted Secret by default; insecureNoAuth says so in its args', () => {
  const gatewayOf = (text: string) => {
    const objects = parseRendered(renderYaml(plan(text)));
    for (const o of objects) validateObject(o);
    return spec<Workload & { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string; optional: boolean } }>; containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }> } } }>(byKind(objects, 'Deployment')[0] as K8sObject).template.spec;
  };
  const keyed = gatewayOf(DEFAULT_DEPLOY_CONFIG_YAML);
  const args = keyed.containers[0]?.args ?? [];
  const file = args[args.indexOf('--keys-file') + 1] as string;
  assert.ok(args.includes('--keys-file') && !args.includes('--insecure-no-auth'), args.join(' '));
  const volume = keyed.volumes.find((v) => v.secret?.secretName === 'nvlsched-api-keys');
  assert.ok(volume, 'the keys Secret is a volume');
  const mount = keyed.containers[0]?.volumeMounts.find((m) => m.name === volume.name);
  assert.ok(mount && file.startsWith(`${mount.mountPath}/`), `${file} lies in the Secret's mount`);
  const open = gatewayOf('deploy: {auth: {insecureNoAuth: true}}\n');
  assert.ok(open.containers[0]?.args.includes('--insecure-no-auth'));
  assert.ok(!open.containers[0]?.args.includes('--keys-file'));
  assert.ok(!open.volumes.some((v) => v.secret));
  assert.throws(() => plan('deploy: {auth: {insecureNoAuth: true, keysSecret: k}}\n'), /config\.deploy\.auth\.keysSecret: give either/);
});

test('Services, PodDisruptionBudgets and the ServiceMonitor select rendered pods and ports', () => {
  const objects = parseRendered(renderYaml(plan(DEFAULT_DEPLOY_CONFIG_YAML)));
  const pods = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((o) => spec<Workload>(o).template);
  for (const svc of byKind(objects, 'Service')) {
    const s = spec<{ selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> }>(svc);
    const target = pods.filter((t) => selects(s.selector, t.metadata.labels));
    assert.equal(target.length, 1, `${svc.metadata.name} selects one workload`);
    const portNames = new Set(target[0]?.spec.containers.flatMap((k) => k.ports.map((x) => x.name)));
    for (const port of s.ports) assert.ok(portNames.has(port.targetPort), `${svc.metadata.name}: targetPort ${port.targetPort}`);
  }
  for (const pdb of byKind(objects, 'PodDisruptionBudget')) {
    const sel = spec<{ selector: { matchLabels: Record<string, string> } }>(pdb).selector.matchLabels;
    assert.equal(pods.filter((t) => selects(sel, t.metadata.labels)).length, 1, pdb.metadata.name);
  }
  const [sm] = byKind(objects, 'ServiceMonitor') as unknown as ServiceMonitor[];
  assert.ok(sm);
  assert.equal(sm.spec.endpoints[0]?.port, 'metrics');
  assert.equal(sm.spec.endpoints[0]?.path, '/metrics');
  const scraped = byKind(objects, 'Service').filter((s) => selects(sm.spec.selector.matchLabels, s.metadata.labels));
  assert.deepEqual(scraped.map((s) => s.metadata.name).sort(), ['nvlsched-gateway', 'nvlsched-worker-rack0']);
  for (const s of scraped) assert.ok(spec<{ ports: Array<{ name: string }> }>(s).ports.some((x) => x.name === 'metrics'));
});

test('the ConfigMap is the serve config (no deploy section) mounted where --config points', () => {
  const objects = parseRendered(renderYaml(plan(MULTI)));
  const [cm] = byKind(objects, 'ConfigMap');
  const text = (cm?.data as Record<string, string>)[CONFIG_FILE] ?? '';
  const doc = parse(text) as Record<string, unknown>;
  assert.equal(doc.deploy, undefined);
  assert.deepEqual(doc.serve, { cluster: 'gb300-nvl72x3', model: 'deepseek-r1' });
  assert.doesNotThrow(() => parseServeConfig(doc, SERVE_FLAGS));
  const args = spec<Workload>(byKind(objects, 'Deployment')[0] as K8sObject).template.spec.containers[0]?.args ?? [];
  assert.equal(args[args.indexOf('--config') + 1], `${CONFIG_DIR}/${CONFIG_FILE}`);
});

test('the schema check is live: a wrongly typed field fails validation', () => {
  const [set] = workloads(parseRendered(renderYaml(plan(DEFAULT_DEPLOY_CONFIG_YAML))));
  assert.ok(set);
  const broken = JSON.parse(JSON.stringify(set)) as K8sObject & { spec: { replicas: unknown } };
  broken.spec.replicas = 'eighteen';
  assert.throws(() => validateObject(broken), /replicas/);
});
