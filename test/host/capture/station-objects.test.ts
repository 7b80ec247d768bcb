// What a PACS and a radiologist read in a captured object: the equipment of the
// board the frame came through (not radseal's), the real board id, no signed
// guess of Patient Orientation, exposure attributes when given, the station's
// calling AE title at PACS, and a sent/ folder pruned after its retention.
// dicom3tools dciodvfy and DCMTK storescp are the independent judges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { radseal, run, tempDir } from '../support/run.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { CaptureService } from '../../../host/capture/service.js';
import { Outbox } from '../../../host/net/outbox.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { testBoard } from '../link/harness.js';
import { freePort, startStoreScp } from '../net/storescp.js';

const attr = (ds: DataSet, g: number, e: number): string | undefined => {
  const el = findElement(ds, tag(g, e));
  return el ? decodeString(el.value) : undefined;
};

/** dciodvfy's error lines for a file. */
function dciodvfyErrors(file: string): string[] {
  const v = run('dciodvfy', [file]);
  const out = v.stdout + v.stderr;
  assert.match(out, /DXImageForPresentation/, 'dciodvfy recognised the IOD');
  return out.split('\n').filter((l) => /^Error/.test(l));
}

test('capture on the GigE board: its manufacturer, model and detector, the link device id as serial, board id gige-tcp-bridge, orientation left empty (never L\\F), forwarded with the station calling AE', async (t) => {
  const dir = tempDir('radseal-station-');
  const keys = await generateDeviceKey('GIGE-0001', join(dir, 'keys'));
  const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { rows: 96, cols: 80, bitsStored: 14 } });
  const aeFile = join(dir, 'calling-ae.txt');
  // storescp runs this for every object it receives: #a is the calling AE title of the association.
  const scp = await startStoreScp(join(dir, 'pacs'), await freePort(), 'PACS', ['-xcr', `echo #a >> ${aeFile}`]);
  t.after(() => scp.stop());
  const svc = new CaptureService({
    board, device: loadDeviceIdentity(keys.key, keys.cert, 'a-stale-id'), outboxDir: join(dir, 'outbox'),
    forward: { calledAe: 'PACS', host: '127.0.0.1', port: scp.port, callingAe: 'DXROOM3' }, forwardBackoffMs: { min: 100, max: 500 },
  });
  t.after(() => svc.stop());
  await svc.start();
  const rep = await runSimulator(board, { frames: 1, startSerial: 40, port: `127.0.0.1:${svc.connector.boundPort}` });
  assert.equal(rep.framesAcked, 1);
  const t0 = Date.now();
  while (readdirSync(svc.outbox.sentDir).length < 1 && Date.now() - t0 < 15000) await new Promise((r) => setTimeout(r, 50));
  const [name] = readdirSync(svc.outbox.sentDir);
  const file = join(svc.outbox.sentDir, name!);
  const ds = readPart10(new Uint8Array(readFileSync(file))).dataSet;
  assert.equal(attr(ds, 0x0008, 0x0070), 'generic', 'Manufacturer from the board');
  assert.equal(attr(ds, 0x0008, 0x1090), 'GigE flat panel', "Manufacturer's Model Name from the board");
  assert.equal(attr(ds, 0x0018, 0x1000), 'GIGE-0001', 'Device Serial Number: the detector that sent the frame');
  assert.equal(attr(ds, 0x0018, 0x7004), 'SCINTILLATOR', 'Detector Type from the board');
  assert.equal(readAttestation(ds)!.boardId, 'gige-tcp-bridge', 'the board the frame came through, whatever the identity was loaded with');
  assert.equal(attr(ds, 0x0020, 0x0020), '', 'Patient Orientation: nobody said it, so it is empty, not a signed L\\F');
  for (const [g, e] of [[0x0018, 0x0060], [0x0018, 0x1152], [0x0018, 0x1153], [0x0018, 0x1411], [0x0018, 0x1110]] as const) {
    assert.equal(findElement(ds, tag(g, e)), undefined, `no exposure attribute (${g.toString(16)},${e.toString(16)}) the detector did not report`);
  }
  // The one error dciodvfy finds is the deliberate one: For Presentation DX wants an orientation only the console knows.
  assert.deepEqual(dciodvfyErrors(file), ['Error - Empty attribute (no value) Type 1C Conditional Element=<PatientOrientation> Module=<DXImage>']);
  const t1 = Date.now();
  while (!readFileSync(aeFile, { flag: 'a+' }).length && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(readFileSync(aeFile, 'utf8').trim(), 'DXROOM3', 'PACS saw the station calling AE title, not RADSEAL');
});

test('seal --board with exposure values and orientation in the meta file: recorded, dciodvfy finds no error; a contradicting boardId is refused', async () => {
  const dir = tempDir('radseal-station-seal-');
  const keys = await generateDeviceKey('DX-SEAL-1', join(dir, 'keys'));
  const px = new Uint16Array(64 * 48).map((_, i) => (i * 7) & 0xfff);
  writeFileSync(join(dir, 'f.raw'), new Uint8Array(px.buffer));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ boardId: 'usb-cdc', patientOrientation: ['A', 'F'], viewPosition: 'LL', kvp: 125, exposureMas: 2.5, exposureIndex: 412.5, distanceSourceToDetectorMm: 1800 }));
  const args = ['seal', '--key', keys.key, '--cert', keys.cert, '--in', join(dir, 'f.raw'), '--rows', '64', '--cols', '48', '--bits-stored', '12', '--meta', join(dir, 'meta.json')];
  const ok = radseal(...args, '--out', join(dir, 'a.dcm'));
  assert.equal(ok.code, 0, ok.stderr);
  const ds = readPart10(new Uint8Array(readFileSync(join(dir, 'a.dcm')))).dataSet;
  assert.equal(readAttestation(ds)!.boardId, 'usb-cdc', 'not "unspecified"');
  assert.equal(attr(ds, 0x0008, 0x1090), 'USB-CDC flat panel');
  assert.equal(attr(ds, 0x0020, 0x0020), 'A\\F');
  assert.deepEqual([[0x0060], [0x1152], [0x1153], [0x1411], [0x1110]].map(([e]) => attr(ds, 0x0018, e!)), ['125', '3', '2500', '412.5', '1800']);
  const errors = dciodvfyErrors(join(dir, 'a.dcm'));
  assert.deepEqual(errors, []);
  const clash = radseal(...args, '--board', 'gige-tcp-bridge', '--out', join(dir, 'b.dcm'));
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--board gige-tcp-bridge contradicts boardId "usb-cdc"/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ kvp: -3 }));
  const bad = radseal(...args.slice(0, -1), join(dir, 'bad.json'), '--out', join(dir, 'c.dcm'));
  assert.match(bad.stderr, /kvp must be a positive number/);
});

test('sent/ retention: objects delivered longer ago than keepSentDays are pruned (counted from delivery); the journal still knows them', async (t) => {
  const dir = tempDir('radseal-station-prune-');
  const outbox = new Outbox(join(dir, 'outbox'), { keepSentDays: 2 });
  const entries = [1, 2, 3].map((s) => outbox.put('DX-P', s, new Uint8Array([s])));
  for (const e of entries) outbox.markSent(e);
  const day = 86_400_000;
  const old = new Date(Date.now() - 3 * day);
  utimesSync(join(outbox.sentDir, entries[0]!.name), old, old);
  assert.deepEqual(outbox.pruneSent(), [entries[0]!.name]);
  assert.deepEqual(readdirSync(outbox.sentDir).sort(), [entries[1]!.name, entries[2]!.name]);
  assert.ok(outbox.has('DX-P', 1), 'a resent frame of a pruned object is still a duplicate');
  assert.deepEqual(outbox.pruneSent(Date.now() + 3 * day).sort(), [entries[1]!.name, entries[2]!.name]);
  // The capture service prunes when it starts (and hourly), and says so.
  const keys = await generateDeviceKey('DX-P', join(dir, 'keys'));
  const again = new Outbox(join(dir, 'outbox2'));
  again.markSent(again.put('DX-P', 9, new Uint8Array([9])));
  const stale = new Date(Date.now() - 8 * day);
  utimesSync(join(again.sentDir, readdirSync(again.sentDir)[0]!), stale, stale);
  const logs: string[] = [];
  const svc = new CaptureService({ board: testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } } }), device: loadDeviceIdentity(keys.key, keys.cert), outboxDir: join(dir, 'outbox2'), log: (m) => logs.push(m) });
  t.after(() => svc.stop());
  await svc.start();
  assert.deepEqual(readdirSync(again.sentDir), [], 'default retention 7 days');
  assert.ok(logs.some((l) => /pruned 1 delivered object/.test(l)), logs.join('\n'));
});
