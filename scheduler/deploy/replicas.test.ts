// Several gateway replicas: the rendered objects pass the Kubernetes schemas, and the invariants hold — every tray
// is driven by exactly one replica, every instance's trays lie inside one replica (checked with the gateway's own
// buildTrayPartition, which serve runs on --trays), each replica's args parse with serve's flag table and carry
// Redis, a stable replica id (pod name) and the pod IP for its peers, and the Services and budget select the pods.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseFlags } from '../cli/args.js';
import { ConfigError } from '../core/config/params.js';
import { buildTrayPartition } from '../gateway/replica/partition.js';
import { GATEWAY_REPLICA_LABEL } from './objects.js';
import { planFromText, type DeployPlan } from './plan.js';
import { renderYaml } from './render.js';
import { SERVE_FLAGS } from './serve_flags.js';
import { GRACE_MARGIN_S } from './settings.js';
import { byKind, parseRendered, plan, selects, validateObject, type K8sObject } from './testing.js';

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Container { args: string[]; env?: EnvVar[]; ports: Array<{ name: string; containerPort: number }>; startupProbe?: unknown; readinessProbe?: unknown; livenessProbe?: unknown; lifecycle?: { preStop?: unknown } }
interface Workload { replicas: number; serviceName?: string; podManagementPolicy?: string; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; terminationGracePeriodSeconds: number } } }

const CASES = [
  { name: 'two GB200 racks, 3 replicas, one tray per instance', text: 'serve: {cluster: gb200-nvl72x2}\ndeploy: {gateway: {replicas: 3}}\n', replicas: 3 },
  { name: 'instances of 2 trays (tensor parallel 8), 4 replicas', text: 'serve: {cluster: gb200-nvl72, tensorParallel: 8}\ndeploy: {gateway: {replicas: 4}, redis: {url: "redis://r.example:6379"}}\n', replicas: 4 },
  // 18 trays hold 4 instances of 4 trays at tensor parallel 16: trays 16-17 hold none and still get a replica.
  { name: 'instances of 4 trays with 2 trays left over, 3 replicas', text: 'serve: {cluster: gb200-nvl72, tensorParallel: 16}\ndeploy: {gateway: {replicas: 3}}\n', replicas: 3 },
  { name: 'three GB300 racks of DeepSeek-R1, 2 replicas', text: 'serve: {cluster: gb300-nvl72x3, model: deepseek-r1}\ndeploy: {gateway: {replicas: 2}}\n', replicas: 2 },
];

const spec = <T>(o: K8sObject): T => o.spec as T;
const gateways = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === 'StatefulSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'gateway');
const argOf = (args: string[], flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

/** The cluster shape serve builds from the same config (what buildTrayPartition gets in startGateway). */
function shapeOf(p: DeployPlan) {
  const f = p.serveFlags;
  return {
    cluster: p.cluster.preset,
    ...(f.model !== undefined ? { model: f.model as string } : {}),
    ...(f['tensor-parallel'] !== undefined ? { tensorParallel: f['tensor-parallel'] as number } : {}),
  };
}

for (const c of CASES) {
  test(`${c.name}: schemas pass; every tray has exactly one replica and every instance lies inside one`, () => {
    const p = plan(c.text);
    const objects = parseRendered(renderYaml(p));
    for (const o of objects) validateObject(o);
    assert.equal(byKind(objects, 'Deployment').length, 0, 'no single-gateway Deployment');
    const sets = gateways(objects);
    assert.equal(sets.length, c.replicas);
    const numTrays = p.cluster.racks * p.cluster.traysPerRack;
    const owner = new Array<number>(numTrays).fill(0);
    const instanceOwner = new Map<string, number>();
    const shape = shapeOf(p);
    for (const [r, set] of sets.entries()) {
      const w = spec<Workload>(set);
      assert.equal(w.replicas, 1);
      assert.equal(set.metadata.labels?.[GATEWAY_REPLICA_LABEL], String(r));
      const args = w.template.spec.containers[0]?.args ?? [];
      // serve's own parser takes them (unknown flags or wrong types throw).
      const { flags, rest } = parseFlags(args.slice(1), SERVE_FLAGS);
      assert.deepEqual(rest, []);
      const trays = String(flags.trays).split(',').map(Number);
      const workers = String(flags.workers).split(',');
      assert.equal(trays.length, workers.length, 'serve requires one --trays entry per worker');
      trays.forEach((t, i) => {
        owner[t] = (owner[t] ?? 0) + 1;
        // The worker named for tray t is that tray's pod: <set of rack t/18>-<t%18>.
        const rack = Math.floor(t / p.cluster.traysPerRack);
        assert.match(workers[i] ?? '', new RegExp(`^nvlsched-worker-${p.cluster.domainIds[rack]}-${t % p.cluster.traysPerRack}\\.`));
      });
      const part = buildTrayPartition({ ...shape, trays });
      for (const inst of part.instances) {
        assert.equal(instanceOwner.get(inst.setup.instanceId), undefined, `${inst.setup.instanceId} in two replicas`);
        instanceOwner.set(inst.setup.instanceId, r);
      }
    }
    assert.deepEqual(owner, new Array<number>(numTrays).fill(1), 'every tray driven by exactly one replica');
    assert.equal(instanceOwner.size, p.cluster.instances, 'every instance is whole inside some replica');
    // Balanced: replicas' instance counts differ by at most one group of trays' instances.
    const counts = [...Array(c.replicas).keys()].map((r) => [...instanceOwner.values()].filter((x) => x === r).length);
    const perGroup = Math.max(1, Math.floor(p.cluster.gpusPerTray / p.cluster.tensorParallel));
    assert.ok(Math.max(...counts) - Math.min(...counts) <= perGroup, counts.join(','));
  });
}

test('each replica runs with Redis, its pod name as replica id and its pod IP for the peers', () => {
  const p = plan(CASES[0]?.text ?? '');
  const objects = parseRendered(renderYaml(p));
  for (const set of gateways(objects)) {
    const w = spec<Workload>(set);
    const [k] = w.template.spec.containers;
    assert.ok(k);
    const env = new Map((k.env ?? []).map((e) => [e.name, e]));
    const varOf = (flag: string): EnvVar | undefined => env.get(/^\$\(([A-Z_]+)\)$/.exec(argOf(k.args, flag) ?? '')?.[1] ?? '');
    assert.match(varOf('--redis')?.value ?? '', /^redis:\/\/nvlsched-redis\.nvlsched\.svc\.cluster\.local:6379$/);
    assert.equal(varOf('--replica-id')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
    assert.equal(varOf('--advertise-host')?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
    const peer = k.ports.find((x) => x.name === 'peer');
    assert.equal(Number(argOf(k.args, '--peer-port')), peer?.containerPort);
    assert.equal(w.podManagementPolicy, 'OrderedReady');
    assert.ok(k.startupProbe && k.readinessProbe && k.livenessProbe && k.lifecycle?.preStop, 'probes and drain as one gateway');
    assert.equal(w.template.spec.terminationGracePeriodSeconds, 60 + GRACE_MARGIN_S);
  }
  // Each StatefulSet selects its own pod only.
  const sets = gateways(objects);
  for (const a of sets) for (const b of sets) assert.equal(selects(spec<Workload>(a).selector.matchLabels, spec<Workload>(b).template.metadata.labels), a === b);
});

test('the client Service, the peers Service and the budget span every replica', () => {
  const objects = parseRendered(renderYaml(plan(CASES[0]?.text ?? '')));
  const pods = gateways(objects).map((s) => spec<Workload>(s).template);
  const service = (name: string) => spec<{ selector: Record<string, string>; clusterIP?: string; ports: Array<{ name: string; targetPort: string }> }>(byKind(objects, 'Service').find((s) => s.metadata.name === name) as K8sObject);
  const client = service('nvlsched-gateway');
  assert.equal(pods.filter((t) => selects(client.selector, t.metadata.labels)).length, 3);
  assert.deepEqual(client.ports.map((x) => x.name), ['grpc', 'http', 'metrics']);
  const peers = service('nvlsched-gateway-peers');
  assert.equal(peers.clusterIP, 'None');
  assert.equal(pods.filter((t) => selects(peers.selector, t.metadata.labels)).length, 3);
  for (const t of pods) assert.ok(t.spec.containers[0]?.ports.some((x) => x.name === peers.ports[0]?.targetPort));
  for (const s of gateways(objects)) assert.equal(spec<Workload>(s).serviceName, 'nvlsched-gateway-peers');
  const pdb = byKind(objects, 'PodDisruptionBudget').find((b) => b.metadata.name === 'nvlsched-gateway') as K8sObject;
  const budget = spec<{ maxUnavailable: number; selector: { matchLabels: Record<string, string> } }>(pdb);
  assert.equal(budget.maxUnavailable, 1);
  assert.equal(pods.filter((t) => selects(budget.selector.matchLabels, t.metadata.labels)).length, 3);
});

const BAD: Array<{ name: string; yaml: string; field: string; message: RegExp }> = [
  { name: 'replicas without Redis', yaml: 'deploy: {gateway: {replicas: 2}, redis: {}}\n', field: 'config.deploy.redis', message: /required with gateway\.replicas 2/ },
  { name: 'more replicas than instance groups', yaml: 'serve: {tensorParallel: 16}\ndeploy: {gateway: {replicas: 5}}\n', field: 'config.deploy.gateway.replicas', message: /at most 4/ },
  { name: 'peer port on the HTTP port', yaml: 'deploy: {gateway: {replicas: 2}, ports: {peer: 8000}}\n', field: 'config.deploy.ports', message: /peer ports must differ/ },
];
for (const c of BAD) {
  test(`rejected: ${c.name} → names ${c.field}`, () => {
    assert.throws(() => planFromText(c.yaml, 'f.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.field, c.field, e.message);
      assert.match(e.message, c.message);
      return true;
    });
  });
}
