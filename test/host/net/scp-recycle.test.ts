// With recycleBuffers, an answered object's buffer receives a later object (no fresh memory per
// object); every object still arrives byte for byte as sent. Without it, no buffer is ever reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cStore, parsePart10 } from '../../../host/net/cstore.js';
import { startStoreScp } from '../../../host/net/scp.js';
import { makeDx } from './dicom-fixture.js';

async function receive(recycleBuffers: boolean, sizes: number[]) {
  const got: Array<{ dataSet: Buffer; buffer: ArrayBufferLike; uid: string }> = [];
  const scp = await startStoreScp({
    host: '127.0.0.1', port: 0, aeTitle: 'PACS', recycleBuffers,
    room: () => ({ before: 4096, after: 4096 }),
    onStore: async (obj) => {
      got.push({ dataSet: Buffer.from(obj.dataSet), buffer: obj.part10().buffer, uid: obj.sopInstanceUid });
      return { status: 0 };
    },
  });
  const sent = sizes.map((n, i) => makeDx(100 + i, n, n));
  try {
    for (const dx of sent) assert.equal((await cStore({ calledAe: 'PACS', host: '127.0.0.1', port: scp.port }, dx.bytes)).status, 0);
  } finally {
    await scp.close();
  }
  sent.forEach((dx, i) => {
    assert.equal(got[i]!.uid, dx.sopInstanceUid);
    assert.ok(got[i]!.dataSet.equals(Buffer.from(dx.bytes.subarray(parsePart10(dx.bytes).dataSetOffset))), `object ${i} as sent`);
  });
  return got;
}

test('recycled: same-size objects land in the first one\'s buffer, each as sent', async () => {
  const got = await receive(true, [512, 512, 512]);
  assert.equal(got[1]!.buffer, got[0]!.buffer);
  assert.equal(got[2]!.buffer, got[0]!.buffer);
});

test('recycled: a larger object after a smaller one gets a buffer of its own; a much smaller one is not built in a big buffer', async () => {
  const got = await receive(true, [256, 1024, 64]);
  assert.notEqual(got[1]!.buffer, got[0]!.buffer);
  assert.ok(got[2]!.buffer.byteLength < 1 << 20, 'a small object is not kept in a 2 MB buffer');
});

test('not recycled by default', async () => {
  const got = await receive(false, [512, 512]);
  assert.notEqual(got[1]!.buffer, got[0]!.buffer);
});
