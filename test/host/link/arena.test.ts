// One frame arena: the link writes a frame into core memory once, and the watermark, the tile
// table, the pixel hash and the DICOM encode read it there; the board's memory budget bounds the
// whole capture core. Run in a private network namespace (the capture service listens on TCP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core } from '../../../host/core/wasm.js';
import { sha256 } from '../../../host/core/hash.js';
import { wmCore } from '../../../host/watermark/core.js';
import { CoreFrameStore } from '../../../host/link/framestore.js';
import { CaptureService } from '../../../host/capture/service.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { generateWatermarkKey, loadWatermarkKey } from '../../../host/keys/watermark-key.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { sealFrame } from '../../../host/seal/seal.js';
import { pixelBytes } from '../../../host/dicom/dx.js';
import { bodyPhantom } from '../../../host/image/phantom.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { testBoard } from './harness.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);

const phantom = (rows: number, cols: number, bits: number, seed: number): Uint16Array => bodyPhantom(rows, cols, bits, seed).pixels;

async function identities(dir: string) {
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  generateWatermarkKey(join(dir, 'wm.key'));
  return { device: loadDeviceIdentity(keys.key, keys.cert, 'test'), wmKey: loadWatermarkKey(join(dir, 'wm.key')), trust: parseCertificates(readFileSync(keys.cert)) };
}

test('sealed in the frame slot: watermark embedded where the link wrote the pixels, same object as from a copy, no core grew', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-arena-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { device, wmKey, trust } = await identities(dir);
  const [rows, cols, bitsStored] = [768, 1024, 14];
  const frameBytes = rows * cols * 2;
  const raw = phantom(rows, cols, bitsStored, 3);
  const rawFrameSha256 = new Uint8Array(createHash('sha256').update(raw).digest());
  const req = { rawFrameSha256, frameSerial: 11, captureTime: new Date('2026-01-02T03:04:05Z'), watermark: { key: wmKey } };

  // From a JavaScript copy (the CLI's path): the reference object.
  const fromCopy = await sealFrame({ ...req, frame: { rows, cols, bitsStored, pixels: raw.slice() } }, device);

  const core = new Core({ budgetBytes: 3 * frameBytes });
  const store = new CoreFrameStore(core, frameBytes, 2);
  const slot = store.acquire()!;
  slot.view(0, frameBytes).set(new Uint8Array(raw.buffer));
  const slotBytes = slot.view(0, frameBytes);
  const pixels = new Uint16Array(slotBytes.buffer, slotBytes.byteOffset, rows * cols);
  const used = core.used;
  const wmCoreBefore = wmCore().memory.buffer.byteLength;
  const inPlace = await sealFrame({ ...req, frame: { rows, cols, bitsStored, pixels }, markInPlace: true }, device);

  // The slot now holds the marked frame, and it is exactly what was sealed and signed.
  const ds = readPart10(inPlace.bytes).dataSet;
  const stored = findElement(ds, PIXEL_DATA)!.value!;
  assert.ok(Buffer.from(stored).equals(Buffer.from(slot.view(0, frameBytes))), 'Pixel Data = the frame slot after marking');
  assert.ok(!Buffer.from(stored).equals(Buffer.from(raw.buffer)), 'the mark changed the pixels');
  assert.ok(Buffer.from(stored).equals(Buffer.from(findElement(readPart10(fromCopy.bytes).dataSet, PIXEL_DATA)!.value!)), 'in place = from a copy, pixel for pixel');
  assert.deepEqual(inPlace.pixelDataSha256, fromCopy.pixelDataSha256);
  // Nothing was copied into another core, nothing left behind in this one, nothing grew.
  assert.equal(core.used, used, 'every working buffer of the seal was released');
  assert.equal(core.memory.buffer.byteLength, core.budgetBytes);
  assert.ok(wmCore().memory.buffer.byteLength - wmCoreBefore < frameBytes, 'the watermark core never held a copy of the frame');

  // Format 3 and verification: authentic with the site key; a pixel flipped in the file is named by tile.
  const att = readAttestation(ds)!;
  assert.equal(att.formatVersion, '3');
  assert.equal(att.tileDigest, true);
  const report = verifyObject('in-place', inPlace.bytes, trust, { watermarkKey: wmKey });
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  const bad = Buffer.from(inPlace.bytes);
  bad[stored.byteOffset + 2 * (200 * cols + 900)]! ^= 0x10; // tile [3,14] of 64 px
  const tampered = verifyObject('tampered', bad, trust, { watermarkKey: wmKey });
  assert.equal(tampered.verdict, 'tampered');
  assert.deepEqual(tampered.tamperedTiles?.tiles, [[3, 14]]);
  store.release(slot);
});

test('format 1 (serial SHA-256 of the pixels, no tile table) is still written without tiles and still verifies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-arena-v1-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { device, trust } = await identities(dir);
  const pixels = phantom(128, 160, 12, 5);
  const sealed = await sealFrame({ frame: { rows: 128, cols: 160, bitsStored: 12, pixels }, rawFrameSha256: sha256(pixelBytes(pixels)), frameSerial: 1, tileSize: 0 }, device);
  const att = readAttestation(readPart10(sealed.bytes).dataSet)!;
  assert.equal(att.formatVersion, '1');
  assert.equal(Buffer.from(att.pixelDataSha256).toString('hex'), createHash('sha256').update(pixels).digest('hex'));
  assert.equal(verifyObject('v1', sealed.bytes, trust).verdict, 'authentic');
});

test('a budget too small for the watermark\'s working space: the frame is refused by name, the core does not grow', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-arena-budget-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { device, wmKey } = await identities(dir);
  const [rows, cols] = [512, 512];
  const core = new Core({ budgetBytes: rows * cols * 2 + 65536 });
  const slot = new CoreFrameStore(core, rows * cols * 2, 1).acquire()!;
  slot.view(0, rows * cols * 2).set(new Uint8Array(phantom(rows, cols, 14, 7).buffer));
  const v = slot.view(0, rows * cols * 2);
  const pixels = new Uint16Array(v.buffer, v.byteOffset, rows * cols);
  const used = core.used;
  await assert.rejects(sealFrame({ frame: { rows, cols, bitsStored: 14, pixels }, rawFrameSha256: new Uint8Array(32), frameSerial: 2, watermark: { key: wmKey }, markInPlace: true }, device), /memory budget of \d+ bytes exceeded/);
  assert.equal(core.memory.buffer.byteLength, core.budgetBytes);
  assert.equal(core.used, used, 'the failed seal released what it had carved out');
});

test('capture service with the site watermark: frames sealed from their slots, authentic, the capture core fixed at the board budget', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-arena-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { device, wmKey, trust } = await identities(dir);
  const board = testBoard('gige-tcp-bridge', {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' }, chunkBytes: 16384 },
    detector: { deviceId: 'SIM-0001', rows: 512, cols: 512, bitsStored: 14 },
    memory: { budgetBytes: 8 << 20, reserveBytes: 4 << 20 },
  });
  const svc = new CaptureService({ board, device, outboxDir: join(dir, 'outbox'), watermarkKey: wmKey });
  try {
    await svc.start();
    const rep = await runSimulator(board, { frames: 3, startSerial: 40, port: `127.0.0.1:${svc.connector.boundPort}` });
    assert.deepEqual(rep.failed, []);
    assert.equal(rep.framesAcked, 3);
  } finally {
    await svc.stop();
  }
  const store = (svc.receiver as unknown as { o: { store: CoreFrameStore } }).o.store;
  assert.equal(store.core.budgetBytes, 8 << 20);
  assert.equal(store.core.memory.buffer.byteLength, 8 << 20, 'the capture core never grew past the board budget');
  const files = readdirSync(svc.outbox.readyDir).filter((f) => f.endsWith('.dcm'));
  assert.equal(files.length, 3);
  for (const f of files) {
    const report = verifyObject(f, new Uint8Array(readFileSync(join(svc.outbox.readyDir, f))), trust, { watermarkKey: wmKey });
    assert.equal(report.verdict, 'authentic', `${f}: ${report.reasons.join('; ')}`);
    assert.equal(report.watermark?.present, true);
  }
});
