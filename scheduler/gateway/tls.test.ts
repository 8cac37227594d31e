// The gateway with transport security, in-process workers and gateway on loopback (ports picked at run time),
// certificates from rpc/testing/certs.ts: client → gateway (mTLS on the client-facing gRPC port) → workers (mTLS)
// serves requests end to end; a worker whose certificate another CA signed is marked unhealthy at start with the TLS
// error in the log and gets no step; a gateway without a client certificate drives no worker that requires one.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { makeTestPki, type CertFiles, type TestPki } from '../rpc/testing/certs.js';
import { httpsPost } from '../rpc/testing/https.js';
import { channelCredentials, readClientTls, readServerTls, type ClientTls, type ClientTlsPaths } from '../rpc/tls.js';
import { startWorker, type RunningWorker } from '../worker/worker.js';
import { startGateway, type GatewayOptions, type RunningGateway } from './gateway.js';
import { generate, SMALL } from './testing.js';

const LIMIT_MS = 10_000;
const ids = (n: number, base = 1): number[] => Array.from({ length: n }, (_, i) => base + i);

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

/** A worker of `tray` whose port requires a client certificate of the cluster CA and presents `cert`. */
function startTlsWorker(tray: number, cert: CertFiles): Promise<RunningWorker> {
  const tls = readServerTls({ cert: cert.certFile, key: cert.keyFile, clientCa: pki.ca.certFile });
  return startWorker(
    { topology: 'gb200-nvl72', tray, model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu: SMALL.kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1 },
    { port: 0, tls, discover: async (d) => ({ domainId: d, source: 'config', skipped: [], warnings: [] }) },
  );
}

/** Log lines, and a bounded wait for the first that matches. */
function logRecorder(): { log: (line: string) => void; lines: string[]; waitFor: (re: RegExp) => Promise<string> } {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  return {
    lines,
    log: (line) => {
      lines.push(line);
      for (const w of waiters.splice(0)) if (w.re.test(line)) w.resolve(line);
      else waiters.push(w);
    },
    waitFor: (re) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line like ${re} in ${LIMIT_MS} ms; got:\n${lines.join('\n')}`)), LIMIT_MS);
        waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

function gatewayClient(port: number, tls: ClientTls | null): GatewayClient {
  const { credentials, options } = channelCredentials(tls);
  return new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${port}`, credentials, options);
}

const mtlsToWorkers = (): ClientTlsPaths => ({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile });

async function stepsRun(w: RunningWorker): Promise<number> {
  const text = await w.metrics.registry.getSingleMetricAsString('nvlsched_worker_steps_total');
  return Number(/ (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function withGateway(workers: RunningWorker[], extra: Partial<GatewayOptions>, body: (g: RunningGateway) => Promise<void>): Promise<void> {
  const g = await startGateway({ ...SMALL, workerPorts: workers.map((w) => w.port), grpcPort: 0, ...extra });
  try {
    await body(g);
  } finally {
    await g.close();
  }
}

describe('gateway with mTLS to its workers and on its client-facing port', () => {
  let workers: RunningWorker[];
  before(async () => {
    workers = [await startTlsWorker(0, pki.server), await startTlsWorker(1, pki.server)];
  });
  after(async () => {
    for (const w of workers) await w.server.close();
  });

  test('a request is served end to end over TLS; clients without a valid certificate are refused', async () => {
    const rec = logRecorder();
    const tls = readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile });
    await withGateway(workers, { workerTls: readClientTls(mtlsToWorkers()), tls, httpPort: 0, log: rec.log }, async (g) => {
      assert.ok(rec.lines.some((l) => /to workers mTLS \(with a client certificate\); client-facing gRPC and HTTP mTLS/.test(l)), rec.lines.join('\n'));
      const good = gatewayClient(g.port, readClientTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile }));
      try {
        const outs = await Promise.all([0, 1, 2, 3].map((i) => generate(good, { promptTokenIds: ids(80, i * 1000), maxTokens: 6 })));
        for (const out of outs) {
          assert.equal(out.error, undefined, out.error?.details);
          assert.equal(out.tokens.length, 6);
          assert.equal(out.last?.finishReason, 'length');
        }
      } finally {
        good.close();
      }
      assert.ok((await stepsRun(workers[0] as RunningWorker)) + (await stepsRun(workers[1] as RunningWorker)) > 0);
      for (const [name, client] of [
        ['no client certificate', gatewayClient(g.port, readClientTls({ ca: pki.ca.certFile }))],
        ['another CA\'s client certificate', gatewayClient(g.port, readClientTls({ ca: pki.ca.certFile, cert: pki.otherClient.certFile, key: pki.otherClient.keyFile }))],
        ['plaintext', gatewayClient(g.port, null)],
      ] as const) {
        const out = await generate(client, { promptTokenIds: ids(40), maxTokens: 2 });
        client.close();
        assert.equal(out.error?.code, grpc.status.UNAVAILABLE, `${name}: ${out.error?.details ?? 'served'}`);
        assert.equal(out.tokens.length, 0, name);
      }
      // The HTTP API on the same terms: HTTPS, a client certificate of the CA required.
      const chat = { messages: [{ role: 'user', content: 'hello over https' }], max_tokens: 4 };
      const served = await httpsPost(g.httpPort as number, '/v1/chat/completions', chat, { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile });
      assert.ok(served.ok, served.ok ? '' : served.error.message);
      assert.equal(served.status, 200, served.body);
      assert.equal((JSON.parse(served.body) as { usage: { completion_tokens: number } }).usage.completion_tokens, 4);
      const anonymous = await httpsPost(g.httpPort as number, '/v1/chat/completions', chat, { caFile: pki.ca.certFile });
      assert.equal(anonymous.ok, false, anonymous.ok ? `answered ${anonymous.status}` : '');
      const foreign = await httpsPost(g.httpPort as number, '/v1/chat/completions', chat, { caFile: pki.ca.certFile, certFile: pki.otherClient.certFile, keyFile: pki.otherClient.keyFile });
      assert.equal(foreign.ok, false, foreign.ok ? `answered ${foreign.status}` : '');
      assert.equal(g.sched.stats().live, 0);
    });
  });

  test('a gateway without a client certificate cannot drive workers that require one', async () => {
    const rec = logRecorder();
    const before = await stepsRun(workers[0] as RunningWorker);
    await withGateway(workers.slice(0, 1), { workerTls: readClientTls({ ca: pki.ca.certFile }), log: rec.log, rejoinBackoffMs: 50 }, async (g) => {
      // The worker ends the handshake with "certificate required": every instance of tray 0 fails at start.
      await rec.waitFor(/instance \S+ failed: step stream failed: .*certificate required/);
      const trayInstances = g.topology.instances.map((i) => i.setup.instanceId);
      for (const id of trayInstances) await rec.waitFor(new RegExp(`instance ${id} failed`));
      for (const id of trayInstances) assert.equal(g.driver.healthy(id), false, id);
      const client = gatewayClient(g.port, null);
      const out = await generate(client, { promptTokenIds: ids(40), maxTokens: 2 });
      client.close();
      assert.ok(out.error, 'refused: no instance can run it');
      assert.equal(out.tokens.length, 0);
    });
    assert.equal(await stepsRun(workers[0] as RunningWorker), before, 'no step reached the worker');
  });
});

test('a worker whose certificate another CA signed is marked unhealthy at start and gets no work', async () => {
  const good = await startTlsWorker(0, pki.server);
  const bad = await startTlsWorker(1, pki.otherServer);
  try {
    const rec = logRecorder();
    await withGateway([good, bad], { workerTls: readClientTls(mtlsToWorkers()), log: rec.log, rejoinBackoffMs: 50 }, async (g) => {
      const badInstances = g.topology.instances.filter((i) => i.leaderWorker === 1).map((i) => i.setup.instanceId);
      assert.ok(badInstances.length > 0);
      const line = await rec.waitFor(new RegExp(`instance ${badInstances[0]} failed: .*unable to verify the first certificate`));
      assert.match(line, /step stream failed/);
      for (const id of badInstances) await rec.waitFor(new RegExp(`instance ${id} failed`));
      for (const i of g.topology.instances) assert.equal(g.driver.healthy(i.setup.instanceId), i.leaderWorker === 0, i.setup.instanceId);
      const client = gatewayClient(g.port, null);
      try {
        const outs = await Promise.all(ids(8).map((i) => generate(client, { promptTokenIds: ids(60, i * 500), maxTokens: 3 })));
        for (const out of outs) assert.equal(out.tokens.length, 3, out.error?.details);
      } finally {
        client.close();
      }
      // Rejoin keeps probing the bad worker (its Health fails the same way) without joining it.
      await rec.waitFor(/rejoin attempt \d+ failed \(Health: .*unable to verify the first certificate/);
      assert.ok(badInstances.every((id) => !g.driver.healthy(id)));
    });
    assert.ok((await stepsRun(good)) > 0);
    assert.equal(await stepsRun(bad), 0, 'the untrusted worker ran no step');
  } finally {
    await good.server.close();
    await bad.server.close();
  }
});
