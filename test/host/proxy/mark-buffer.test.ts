// The watermark path's buffer: the received pixels copied once into core memory, marked there,
// the sealed file encoded around them inside the room it was given (never over the core's own
// bytes), and the core reused for the next object only once the seal gave it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { markBuffer, ROOM_BEFORE } from '../../../host/proxy/mark-buffer.js';
import { sealReceived } from '../../../host/proxy/seal-received.js';
import { coreHolding } from '../../../host/core/wasm.js';
import { encodePart10AroundPixels } from '../../../host/dicom/writer.js';
import { PIXEL_DATA, tag, type DataSet } from '../../../host/dicom/model.js';
import { UID } from '../../../host/dicom/uids.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { generateDeviceKey, readCertificateDer } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { parseCertificate } from '../../../host/keys/certs.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { tempDir } from '../support/run.js';
import { makeObjects } from './fixtures.js';

test('markBuffer: one copy in core memory with the room asked for; reused only after release; a busy one is never handed out twice', () => {
  const received = new Uint8Array(randomBytes(3000));
  const a = markBuffer(received, 5000);
  assert.deepEqual(Buffer.from(a.pixels), Buffer.from(received));
  assert.notEqual(a.pixels.buffer, received.buffer);
  assert.ok(coreHolding(a.pixels), 'the copy lives in core memory: the watermark marks it where it lies');
  assert.equal(a.pixels.byteOffset - a.room.start, ROOM_BEFORE);
  assert.equal(a.room.end - (a.pixels.byteOffset + a.pixels.length), 5000);
  const b = markBuffer(received, 5000);
  assert.notEqual(b.pixels.buffer, a.pixels.buffer, 'a buffer still in use is not handed out again');
  const aAt = a.pixels.byteOffset;
  const aBuffer = a.pixels.buffer;
  a.release();
  a.release(); // idempotent
  b.release();
  const c = markBuffer(received, 5000);
  assert.equal(c.pixels.buffer, aBuffer, 'the kept core serves the next object');
  assert.equal(c.pixels.byteOffset, aAt);
  c.release();
  const big = markBuffer(new Uint8Array(1 << 22), 5000);
  assert.equal(big.pixels.length, 1 << 22, 'a larger object gets a core large enough');
  big.release();
});

test('encodePart10AroundPixels keeps to the room it is given: null when the head would reach before it', () => {
  const buffer = new ArrayBuffer(4096);
  const value = new Uint8Array(buffer, 2048, 512);
  const ds: DataSet = [
    { tag: tag(0x0008, 0x0016), vr: 'UI', value: new TextEncoder().encode(`${UID.dxImageStorageForPresentation}\0`) },
    { tag: tag(0x0008, 0x0018), vr: 'UI', value: new TextEncoder().encode('1.2.3.4\0') },
    { tag: PIXEL_DATA, vr: 'OW', value },
  ];
  const meta = { sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: '1.2.3.4', transferSyntaxUid: UID.explicitVrLittleEndian };
  const whole = encodePart10AroundPixels(meta, ds);
  assert.ok(whole, 'fits in the whole buffer');
  const headLength = value.byteOffset - whole.byteOffset;
  assert.ok(headLength > 132 && headLength < 2048);
  assert.equal(encodePart10AroundPixels(meta, ds, { start: value.byteOffset - headLength + 1, end: 4096 }), null, 'one byte short before');
  assert.equal(whole.length, headLength + value.length, 'nothing after Pixel Data here');
  assert.ok(encodePart10AroundPixels(meta, ds, { start: 0, end: value.byteOffset + value.length }), 'the value ends the room: fits');
  assert.equal(encodePart10AroundPixels(meta, ds, { start: 0, end: value.byteOffset + value.length - 1 }), null, 'one byte short after');
  const fits = encodePart10AroundPixels(meta, ds, { start: value.byteOffset - headLength, end: 4096 });
  assert.ok(fits);
  assert.deepEqual(readPart10(Buffer.from(fits)).dataSet.map((e) => e.tag), ds.map((e) => e.tag));
});

test('the proxy seal with the site watermark: marked in core memory, encoded there, authentic; the next object reuses the buffer only after release', async () => {
  const dir = tempDir('radseal-mark-buffer-');
  const files = makeObjects(join(dir, 'native'), 160, 192);
  const dx = files.find((f) => /dx/i.test(f)) ?? files[0]!;
  const keys = await generateDeviceKey('PROXY-MARK-1', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'dicom-proxy');
  const trust = [parseCertificate(readCertificateDer(keys.cert))];
  const watermarkKey = new Uint8Array(randomBytes(32));
  const sealOne = (serial: number) => sealReceived({ part10: readFileSync(dx), callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial }, { device, watermarkKey });
  const first = await sealOne(1);
  assert.ok(first.kind === 'sealed' && first.watermarked && first.release, 'a watermarked seal hands back a release');
  assert.ok(coreHolding(first.bytes), 'the sealed file was encoded where the pixels were marked (core memory), not copied out');
  const firstCopy = Buffer.from(first.bytes);
  // While the first is not released, the second gets a buffer of its own: the first's bytes stay intact.
  const second = await sealOne(2);
  assert.ok(second.kind === 'sealed');
  assert.notEqual(second.bytes.buffer, first.bytes.buffer);
  assert.ok(Buffer.from(first.bytes).equals(firstCopy), 'an unreleased sealed file is never overwritten');
  first.release();
  second.release?.();
  const third = await sealOne(3);
  assert.ok(third.kind === 'sealed');
  assert.equal(third.bytes.buffer, first.bytes.buffer, 'released: the kept core serves the next object');
  for (const [name, bytes] of [['first', firstCopy], ['third', Buffer.from(third.bytes)]] as const) {
    const report = verifyObject(`${name}.dcm`, bytes, trust, { watermarkKey });
    assert.equal(report.verdict, 'authentic', `${name}: ${report.reasons.join('; ')}`);
  }
  third.release?.();
});
