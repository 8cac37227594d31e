// Reading a deployment config: the serve section through serve's own reader, the cluster it describes, the deploy
// section's defaults, and a clear error naming the field for every kind of mistake.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import { defaultPlan, packageVersion, planFromText } from './plan.js';
import { workerMemory } from './worker_objects.js';

test('the default plan: one GB200 NVL72 rack, 18 trays of 4 GPUs, ports and drain defaults', () => {
  const p = defaultPlan();
  assert.equal(p.cluster.racks, 1);
  assert.equal(p.cluster.traysPerRack, 18);
  assert.equal(p.cluster.gpusPerTray, 4);
  assert.equal(p.cluster.multiNodeDomain, true);
  assert.deepEqual(p.cluster.domainIds, ['rack0']);
  assert.deepEqual(p.settings.ports, { grpc: 50051, http: 8000, metrics: 9400, peer: 50053, workerGrpc: 50052, workerMetrics: 9401 });
  assert.equal(p.settings.drainS, 60);
  assert.equal(p.settings.image.tag, packageVersion());
  assert.equal(p.settings.redis.kind, 'internal');
  assert.doesNotMatch(p.serveConfigYaml, /^deploy:/m);
  assert.deepEqual(p.gatewayTrays, [[...Array(18).keys()]], 'one gateway drives every tray');
});

test('non-zero ports of the serve section are the defaults of deploy.ports; 0 is not', () => {
  const p = planFromText('serve: {grpcPort: 7000, httpPort: 0}\n', 't');
  assert.equal(p.settings.ports.grpc, 7000);
  assert.equal(p.settings.ports.http, 8000);
  assert.equal(planFromText('serve: {grpcPort: 7000}\ndeploy: {ports: {grpc: 7100}}\n', 't').settings.ports.grpc, 7100);
});

test('a CUDA worker\'s memory covers the Grace KV it pins plus the overhead; a sim worker\'s does not', () => {
  const p = defaultPlan();
  const gi = Number(/^([0-9]+)Gi$/.exec(workerMemory(p))?.[1]);
  assert.ok(gi * 2 ** 30 >= p.cluster.maxHostKvBytesPerTray + 32 * 2 ** 30 - 2 ** 30, `${gi}Gi`);
  assert.ok(p.cluster.maxHostKvBytesPerTray > 100 * 2 ** 30, 'the default sizing pins hundreds of GB of Grace memory');
  assert.equal(workerMemory(planFromText('deploy: {worker: {backend: sim}}\n', 't')), '4Gi');
});

test('the deploy section is dropped from the gateway\'s file, comments elsewhere kept', () => {
  const p = planFromText('# top\npolicy: dynamo-kv # why\ndeploy:\n  namespace: x\n', 't');
  assert.match(p.serveConfigYaml, /# top/);
  assert.match(p.serveConfigYaml, /policy: dynamo-kv # why/);
  assert.doesNotMatch(p.serveConfigYaml, /namespace/);
});

const BAD: Array<{ name: string; yaml: string; field: string }> = [
  { name: 'YAML error (a duplicate key on line 2)', yaml: 'serve: {}\nserve: {}\n', field: 'f.yaml:2' },
  { name: 'unknown top-level key', yaml: 'deploi: {}\n', field: 'config.deploi' },
  { name: 'unknown serve key', yaml: 'serve: {grpcPrt: 1}\n', field: 'config.serve.grpcPrt' },
  { name: 'local workers', yaml: 'serve: {localWorkers: 2}\n', field: 'config.serve.localWorkers' },
  { name: 'worker ports', yaml: 'serve: {workerPorts: [1, 2]}\n', field: 'config.serve.workerPorts' },
  { name: 'unknown cluster preset', yaml: 'serve: {cluster: nvl576}\n', field: 'config.serve.cluster' },
  { name: 'unknown model', yaml: 'serve: {model: gpt-9}\n', field: 'config.serve.model' },
  { name: 'tensor parallel not a divisor', yaml: 'serve: {tensorParallel: 3}\n', field: 'config.serve.tensorParallel' },
  { name: 'unknown policy', yaml: 'policy: nope\n', field: 'config.policy' },
  { name: 'unknown deploy key', yaml: 'deploy: {replicas: 2}\n', field: 'config.deploy.replicas' },
  { name: 'gateway replicas without Redis', yaml: 'deploy: {gateway: {replicas: 2}, redis: {internal: false}}\n', field: 'config.deploy.redis' },
  { name: 'more gateway replicas than instances', yaml: 'serve: {tensorParallel: 8}\ndeploy: {gateway: {replicas: 10}}\n', field: 'config.deploy.gateway.replicas' },
  { name: 'namespace not a DNS label', yaml: 'deploy: {namespace: Prod_1}\n', field: 'config.deploy.namespace' },
  { name: 'name too long', yaml: `deploy: {name: ${'a'.repeat(30)}}\n`, field: 'config.deploy.name' },
  { name: 'port out of range', yaml: 'deploy: {ports: {grpc: 70000}}\n', field: 'config.deploy.ports.grpc' },
  { name: 'gateway ports collide', yaml: 'deploy: {ports: {grpc: 8000}}\n', field: 'config.deploy.ports' },
  { name: 'worker ports collide', yaml: 'deploy: {ports: {workerMetrics: 50052}}\n', field: 'config.deploy.ports.workerMetrics' },
  { name: 'negative drain', yaml: 'deploy: {drainSeconds: -1}\n', field: 'config.deploy.drainSeconds' },
  { name: 'redis url and internal', yaml: 'deploy: {redis: {url: "redis://r:6379", internal: true}}\n', field: 'config.deploy.redis.url' },
  { name: 'redis url scheme', yaml: 'deploy: {redis: {url: "http://r"}}\n', field: 'config.deploy.redis.url' },
  { name: 'unknown worker backend', yaml: 'deploy: {worker: {backend: rocm}}\n', field: 'config.deploy.worker.backend' },
  { name: 'bad quantity', yaml: 'deploy: {worker: {cpu: lots}}\n', field: 'config.deploy.worker.cpu' },
  { name: 'more cliques than racks', yaml: 'deploy: {cliques: [a.1, b.2]}\n', field: 'config.deploy.cliques' },
  { name: 'a clique that is no label value', yaml: 'deploy: {cliques: ["not a label"]}\n', field: 'config.deploy.cliques[0]' },
  { name: 'two racks on one clique', yaml: 'serve: {cluster: gb200-nvl72x2}\ndeploy: {cliques: [a.1, a.1]}\n', field: 'config.deploy.cliques' },
  { name: 'bad pull policy', yaml: 'deploy: {image: {pullPolicy: Sometimes}}\n', field: 'config.deploy.image.pullPolicy' },
  { name: 'monitor label not a string', yaml: 'deploy: {serviceMonitor: {labels: {release: 3}}}\n', field: 'config.deploy.serviceMonitor.labels.release' },
];
for (const c of BAD) {
  test(`rejected: ${c.name} → names ${c.field}`, () => {
    assert.throws(() => planFromText(c.yaml, 'f.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.field, c.field, e.message);
      return true;
    });
  });
}
