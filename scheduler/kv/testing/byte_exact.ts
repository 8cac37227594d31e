// Byte-exactness scenario shared by the CPU tests and the GPU script (npm run test:cuda): data written into a
// sequence's blocks must read back identical after demote to host, to disk, promote, migrate to a GPU of another
// tray and domain, and copy. Used with any KvManager in 'bytes' mode.
import assert from 'node:assert/strict';

import type { KvManager, TopologySpec } from '../types.js';

export const BYTES_TOPOLOGY: TopologySpec = {
  name: 'bytes-2x2x2',
  numDomains: 2,
  traysPerDomain: 2,
  gpusPerTray: 2,
  cpusPerTray: 2,
  hbmBytesPerGpu: 1e9,
  hostBytesPerTray: 1e9,
  diskBytesPerTray: 1e9,
  nvlink: { bandwidthBytesPerS: 900e9, latencyS: 2e-6 },
  hostLink: { bandwidthBytesPerS: 450e9, latencyS: 1e-6 },
  hostLinkKind: 'c2c',
  scaleOut: { bandwidthBytesPerS: 50e9, latencyS: 5e-6 },
  disk: { bandwidthBytesPerS: 7e9, latencyS: 20e-6 },
};

/** A deterministic pattern unique to (salt, byte position). */
export function pattern(numBytes: number, salt: number): Uint8Array {
  const out = new Uint8Array(numBytes);
  let x = (salt * 2654435761) >>> 0;
  for (let i = 0; i < numBytes; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Runs the scenario; returns the number of read-back comparisons made. */
export async function byteExactScenario(kv: KvManager): Promise<number> {
  const bs = kv.tokensPerBlock;
  const numTokens = bs * 5 + 3; // a partial last block too
  const data = pattern(numTokens * kv.bytesPerToken, 7);
  const { seqId } = kv.allocate({ gpu: 0, numTokens, reserveTokens: bs });
  kv.write(seqId, 0, data);
  let checks = 0;
  const expectSame = (id: number, label: string) => {
    assert.deepEqual(kv.read(id, 0, numTokens), data, `bytes differ after ${label}`);
    checks++;
  };
  expectSame(seqId, 'write');
  await kv.demote(seqId); // device 0 → host of tray 0
  expectSame(seqId, 'demote to host');
  await kv.transfer(seqId, { tier: 'disk', index: 0 });
  expectSame(seqId, 'host → disk');
  await kv.promote(seqId, 1); // disk → device 1 (same tray)
  expectSame(seqId, 'disk → device 1');
  await kv.transfer(seqId, { tier: 'device', index: 2 }); // other tray, same domain: NVLink
  expectSame(seqId, 'migrate over NVLink');
  await kv.transfer(seqId, { tier: 'device', index: 4 }); // other domain: scale-out
  expectSame(seqId, 'migrate across domains');
  const copy = await kv.transfer(seqId, { tier: 'device', index: 5 }, 'copy');
  expectSame(copy.seqId, 'copy');
  expectSame(seqId, 'copy (source untouched)');
  // Writing into the copy must not change the original.
  const other = pattern(bs * kv.bytesPerToken, 99);
  kv.write(copy.seqId, 0, other);
  assert.deepEqual(kv.read(copy.seqId, 0, bs), other);
  expectSame(seqId, 'write into the copy');
  kv.free(copy.seqId);
  kv.free(seqId);
  return checks;
}
