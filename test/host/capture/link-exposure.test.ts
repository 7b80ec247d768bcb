// Exposure values the detector measured travel with the frame (BEGIN extension record 1,
// docs/LINK.md §2) and become KVP, Exposure / Exposure in µAs, Exposure Index and Distance Source
// to Detector in the sealed object; a BEGIN without the record (every device before it) still
// works, unknown records are skipped, malformed or impossible ones are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BeginRecord, decodeBegin, encodeBegin, geometryProblem, HEADER_BYTES, LinkProtocolError, type FrameGeometry } from '../../../host/link/codec.js';
import { LinkDevice } from '../../../host/link/device.js';
import { Connector } from '../../../host/link/transport.js';
import { CaptureService } from '../../../host/capture/service.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { testBoard } from '../link/harness.js';
import { tempDir } from '../support/run.js';

const G: FrameGeometry = { deviceId: 'DX-EXP', rows: 4, cols: 4, bitsStored: 12, bytesPerPixel: 2, chunkBytes: 256, chunkCount: 1, totalBytes: 32 };
const LIMITS = { maxChunkBytes: 1 << 20, maxFrameBytes: 1 << 20, maxRows: 64, maxCols: 64 };
const bodyOf = (packet: Uint8Array) => packet.subarray(HEADER_BYTES, packet.length - 4);

test('BEGIN exposure record: round trip, partial, absent; unknown records skipped; malformed or impossible refused', () => {
  const full = { kvp: 125, exposureUas: 2500, exposureIndex: 412.5, distanceSourceToDetectorMm: 1800 };
  assert.deepEqual(decodeBegin(bodyOf(encodeBegin(1, { ...G, exposure: full }))).exposure, full);
  assert.deepEqual(decodeBegin(bodyOf(encodeBegin(1, { ...G, exposure: { kvp: 81.25 } }))).exposure, { kvp: 81.25 });
  const plain = decodeBegin(bodyOf(encodeBegin(1, G)));
  assert.equal(plain.exposure, undefined);
  assert.deepEqual(plain, G, 'a BEGIN without records decodes as before');

  const withExposure = bodyOf(encodeBegin(1, { ...G, exposure: { kvp: 70 } }));
  const unknown = Buffer.concat([withExposure, Buffer.from([0x7f, 3, 1, 2, 3])]);
  assert.deepEqual(decodeBegin(unknown).exposure, { kvp: 70 }, 'a record type this host does not know is skipped');
  assert.throws(() => decodeBegin(Buffer.concat([withExposure, Buffer.from([0x7f, 9, 1])])), (e: Error) => e instanceof LinkProtocolError && /runs past the body/.test(e.message));
  assert.throws(() => decodeBegin(Buffer.concat([withExposure, Buffer.from([0x7f])])), /runs past the body/);
  const twice = Buffer.concat([withExposure, withExposure.subarray(withExposure.length - 18)]);
  assert.throws(() => decodeBegin(twice), /record 1 twice/);
  const short = Buffer.concat([bodyOf(encodeBegin(1, G)), Buffer.from([BeginRecord.Exposure, 4, 0, 0, 0, 0])]);
  assert.throws(() => decodeBegin(short), /exposure record of 4 bytes, expected 16/);

  assert.equal(geometryProblem({ ...G, exposure: full }, LIMITS), null);
  assert.match(geometryProblem({ ...G, exposure: { kvp: 500 } }, LIMITS)!, /kVp 500 outside 10\.\.200/);
  assert.match(geometryProblem({ ...G, exposure: { distanceSourceToDetectorMm: 5 } }, LIMITS)!, /source to detector distance 5 mm/);
  assert.throws(() => encodeBegin(1, { ...G, exposure: { kvp: -1 } }), /exposure kvp -1 cannot be sent/);
});

test('capture: what the detector measured is in the sealed object; a frame without it has no exposure attributes', async (t) => {
  const dir = tempDir('radseal-exposure-');
  const keys = await generateDeviceKey('SIM-EXP-1', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'test');
  const board = testBoard('gige-tcp-bridge', {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' }, chunkBytes: 4096 },
    detector: { deviceId: 'SIM-EXP-1', rows: 64, cols: 64, bitsStored: 12 },
  });
  const svc = new CaptureService({ board, device, outboxDir: join(dir, 'outbox') });
  await svc.start();
  const connector = new Connector({ transport: 'tcp', host: '127.0.0.1', port: svc.connector.boundPort!, role: 'connect' }, { minDelayMs: 20, maxDelayMs: 200 });
  const dev = new LinkDevice({ deviceId: 'SIM-EXP-1', chunkBytes: 4096, framesInFlight: 1, ackTimeoutMs: 500, maxAckTimeoutMs: 2000, maxRetries: 10 });
  connector.on('up', (tr) => dev.attach(tr));
  t.after(async () => {
    dev.close();
    await connector.stop();
    await svc.stop();
  });
  await connector.start();
  const data = new Uint8Array(64 * 64 * 2);
  for (let i = 0; i < data.length; i += 2) data[i] = i & 0xff;
  const frame = (serial: number) => ({ serial, rows: 64, cols: 64, bitsStored: 12, data, sha256: new Uint8Array(createHash('sha256').update(data).digest()) });
  await dev.send({ ...frame(1), exposure: { kvp: 125, exposureUas: 2500, exposureIndex: 412.5, distanceSourceToDetectorMm: 1800 } });
  await dev.send(frame(2));
  const objects = svc.outbox.pending().map((e) => readPart10(new Uint8Array(readFileSync(e.path))).dataSet);
  assert.equal(objects.length, 2);
  const text = (ds: DataSet, g: number, e: number) => decodeString(findElement(ds, tag(g, e))?.value);
  const [measured, bare] = objects as [DataSet, DataSet];
  assert.deepEqual([text(measured, 0x0018, 0x0060), text(measured, 0x0018, 0x1152), text(measured, 0x0018, 0x1153), text(measured, 0x0018, 0x1411), text(measured, 0x0018, 0x1110)],
    ['125', '3', '2500', '412.5', '1800']);
  for (const [g, e] of [[0x0018, 0x0060], [0x0018, 0x1152], [0x0018, 0x1153], [0x0018, 0x1411]]) assert.equal(findElement(bare, tag(g!, e!)), undefined, 'nothing measured, nothing written');
});
