// The pods' exec hooks against real processes' APIs on loopback: a real worker's Health and Drain RPCs (probe
// SERVING, drain, probe DRAINING), a real gateway's /health for the gateway drain, and the drain's polling until
// live requests reach zero or its deadline passes (a small /health server that counts down).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';

import { startRig } from '../gateway/testing.js';
import { makeTestPki } from '../rpc/testing/certs.js';
import { readClientTls, readServerTls } from '../rpc/tls.js';
import { startWorker } from '../worker/worker.js';
import { drainGateway, drainWorker, probeWorker } from './health.js';

test('probe sees a worker SERVING, drain drains it, then probe sees DRAINING', async () => {
  const worker = await startWorker({ topology: 'gb200-nvl72', tray: 0, model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: 64, blockTokens: 16, seed: 1 }, { port: 0 });
  try {
    const address = `127.0.0.1:${worker.port}`;
    const before = await probeWorker(address, 3000);
    assert.deepEqual([before.serving, before.status], [true, 'STATUS_SERVING']);
    assert.equal(await drainWorker(address, 5), 0);
    const after = await probeWorker(address, 3000);
    assert.deepEqual([after.serving, after.status], [false, 'STATUS_DRAINING']);
  } finally {
    await worker.server.close();
  }
});

test('probe and drain of a worker that requires mTLS: with the client certificate they work, without it probe fails naming TLS', async () => {
  const pki = makeTestPki();
  const tls = readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile });
  const worker = await startWorker({ topology: 'gb200-nvl72', tray: 0, model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: 64, blockTokens: 16, seed: 1 }, { port: 0, tls });
  try {
    const address = `127.0.0.1:${worker.port}`;
    const client = readClientTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile });
    assert.equal((await probeWorker(address, 3000, client)).status, 'STATUS_SERVING');
    await assert.rejects(probeWorker(address, 3000, readClientTls({ ca: pki.ca.certFile })), /Health 127\.0\.0\.1:\d+: .*certificate required \(TLS: /);
    await assert.rejects(probeWorker(address, 3000), new RegExp(`Health ${address.replace(/\./g, '\\.')}`));
    assert.equal(await drainWorker(address, 1, client), 0);
    assert.equal((await probeWorker(address, 3000, client)).status, 'STATUS_DRAINING');
  } finally {
    await worker.server.close();
    pki.cleanup();
  }
});

test('probe of a port with no worker fails within its timeout, naming the address', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const started = Date.now();
  await assert.rejects(probeWorker(`127.0.0.1:${port}`, 1000), new RegExp(`Health 127\\.0\\.0\\.1:${port}`));
  assert.ok(Date.now() - started < 5000);
});

test('a real idle gateway drains at once (its /health reports live_requests 0)', async () => {
  const rig = await startRig(1, { httpPort: 0 });
  try {
    const r = await drainGateway({ url: `http://127.0.0.1:${rig.gateway.httpPort}`, settleS: 0, timeoutS: 5, pollMs: 10 });
    assert.deepEqual(r, { idle: true, liveRequests: 0, polls: 1 });
  } finally {
    await rig.close();
  }
});

/** A /health that reports `counts[i]` live requests on its i-th request (the last one after that). */
async function countdown(counts: number[]): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    const live = counts[Math.min(hits, counts.length - 1)];
    hits++;
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ status: 'serving', live_requests: live }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

test('the gateway drain polls until live requests reach zero', async () => {
  const h = await countdown([3, 2, 0]);
  try {
    const r = await drainGateway({ url: h.url, settleS: 0, timeoutS: 10, pollMs: 5 });
    assert.deepEqual(r, { idle: true, liveRequests: 0, polls: 3 });
    assert.equal(h.hits(), 3);
  } finally {
    h.server.close();
  }
});

test('the gateway drain gives up at its deadline and says how many are still live', async () => {
  const h = await countdown([4]);
  try {
    const started = Date.now();
    const r = await drainGateway({ url: h.url, settleS: 0, timeoutS: 0.2, pollMs: 20 });
    assert.equal(r.idle, false);
    assert.equal(r.liveRequests, 4);
    assert.ok(r.polls >= 2, `polled ${r.polls} times`);
    assert.ok(Date.now() - started < 3000);
  } finally {
    h.server.close();
  }
});
