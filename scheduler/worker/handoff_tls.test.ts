// The KV hand-off between two workers that serve mTLS (--tls-cert/--tls-key/--tls-client-ca): the source dials the
// destination with its peer material (--peer-tls-ca/--peer-tls-cert/--peer-tls-key, peers.ts readPeerTls), made
// by rpc/testing/certs.ts. With a client certificate of the cluster CA the hand-off runs; without one, or without
// TLS at all, the destination's handshake refuses it: E_PEER_UNAVAILABLE and nothing pinned or reserved anywhere.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { makeTestPki, type TestPki } from '../rpc/testing/certs.js';
import { readServerTls, type ClientTls } from '../rpc/tls.js';
import { handoffSend, kvHeld, startLoggedWorker, type LoggedWorker } from './handoff_testing.js';
import { readPeerTls } from './peers.js';
import { connect, StepStream } from './testing.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

describe('KV hand-off between mTLS workers', () => {
  const workers: LoggedWorker[] = [];
  let dst: LoggedWorker;
  let clientTls: ClientTls;
  before(async () => {
    const tls = readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile });
    clientTls = readPeerTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile }) as ClientTls;
    dst = await startLoggedWorker({ tray: 1 }, { tls, peerTls: clientTls });
    workers.push(dst);
  });
  after(async () => {
    for (const w of workers) await w.close();
  });

  /** A source worker with the given peer material; serves mTLS too (the gateway reaches it with the client pair). */
  async function handOffFrom(peerTls: ClientTls | null): Promise<{ result: unknown; src: LoggedWorker }> {
    const tls = readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile });
    const src = await startLoggedWorker({ tray: 0 }, { tls, peerTls });
    workers.push(src);
    const client = connect(src.w.port, clientTls);
    const step = new StepStream(client);
    try {
      const r = await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 1, gpu: 0, numTokens: 40, isPrefill: true }] });
      assert.equal(r.errorCode, '');
      const req = { instanceId: 'p0', seqId: 1, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: `d-${src.w.port}`, destinationSeqId: 1, destinationGpu: 0, timeoutS: 10 };
      const result = await handoffSend(client, req).catch((e: grpc.ServiceError) => e);
      return { result, src };
    } finally {
      await step.end();
      client.close();
    }
  }

  test('with the cluster CA and a client certificate: the hand-off runs', async () => {
    const { result } = await handOffFrom(clientTls);
    assert.equal((result as { numTokens?: number }).numTokens, 40, String((result as Error).message));
  });

  test('no client certificate, or no TLS: the destination refuses the handshake; nothing held on either side', async () => {
    const noCert = readPeerTls({ ca: pki.ca.certFile });
    for (const peer of [noCert, null]) {
      const before = kvHeld(dst.w);
      const { result, src } = await handOffFrom(peer);
      const e = result as grpc.ServiceError;
      assert.equal(e.code, grpc.status.UNAVAILABLE, e.details);
      assert.equal(e.metadata.get('nvlsched-error-code')[0], 'E_PEER_UNAVAILABLE');
      assert.equal(kvHeld(src.w).heldBlocks, 0);
      assert.deepEqual(kvHeld(dst.w), before);
    }
  });

  test('peer TLS flags are checked at start and named', () => {
    assert.throws(() => readPeerTls({ cert: pki.client.certFile, key: pki.client.keyFile }), /--peer-tls-ca: missing/);
    assert.throws(() => readPeerTls({ ca: '/nonexistent.pem' }), /--peer-tls-ca: cannot read \/nonexistent\.pem: no such file/);
    assert.throws(() => readPeerTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.server.keyFile }), /--peer-tls-key: the key .* does not match/);
  });
});
