// Procedure selection for capture, end to end: DCMTK wlmscpfs as the RIS (worklist files made
// by dump2dcm), the simulator on the link, the capture service with its worklist control
// socket, DCMTK storescp as PACS. Run inside a private network namespace (unshare -n).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { CaptureService } from '../../../host/capture/service.js';
import { ProcedureDesk } from '../../../host/capture/procedure.js';
import { controlRequest, startControlServer, type ControlServer } from '../../../host/capture/control.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { ASSIGNMENT_TAGS } from '../../../host/seal/assignment.js';
import { localDicomDate } from '../../../host/net/worklist.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { testBoard } from '../link/harness.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { startWlmscpfs, writeWorklistFile } from '../net/wlmscpfs.js';

const text = (ds: DataSet, t: number): string => new TextDecoder().decode(findElement(ds, t)?.value ?? new Uint8Array()).replace(/[\0 ]+$/, '');
const T = tag;

/** PACS's copies, by SOP Instance UID. */
function stored(dir: string): Map<string, DataSet> {
  const out = new Map<string, DataSet>();
  for (const f of readdirSync(dir)) {
    const ds = readPart10(new Uint8Array(readFileSync(join(dir, f)))).dataSet;
    out.set(decodeString(findElement(ds, T(0x0008, 0x0018))?.value), ds);
  }
  return out;
}

async function until(what: string, ok: () => boolean, ms = 15000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('worklist: exposures filed under the selected procedure; none selected: held unassigned, never forwarded, until a signed assignment releases them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-proc-'));
  const procs: ChildProcess[] = [];
  let control: ControlServer | undefined;
  let svc: CaptureService | undefined;
  const scp = await startStoreScp(join(dir, 'pacs'), await freePort());
  t.after(async () => {
    await control?.close();
    await svc?.stop();
    await scp.stop();
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const today = localDicomDate();
  const aeDir = join(dir, 'wl', 'RIS');
  mkdirSync(aeDir, { recursive: true });
  writeFileSync(join(aeDir, 'lockfile'), '');
  writeWorklistFile(aeDir, 'a', { accession: 'ACC1', patientName: 'Müller^Anna', patientId: 'PID-1', station: 'DXROOM1', date: today, studyUid: '1.2.826.0.1.3680043.10.7.1' });
  writeWorklistFile(aeDir, 'b', { accession: 'ACC2', patientName: 'Roe^Bob', patientId: 'PID-2', station: 'DXROOM1', date: today, studyUid: '1.2.826.0.1.3680043.10.7.2' });
  const risPort = await freePort();
  procs.push(await startWlmscpfs(join(dir, 'wl'), risPort));

  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'test');
  const trust = parseCertificates(readFileSync(keys.cert));
  const board = testBoard('gige-tcp-bridge', {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' }, chunkBytes: 16384, ackTimeoutMs: 300, nakTimeoutMs: 80 },
    detector: { deviceId: 'SIM-0001', rows: 128, cols: 128, bitsStored: 12 },
  });
  const outboxDir = join(dir, 'outbox');
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const start = async () => {
    const desk = new ProcedureDesk(outboxDir, { worklist: { calledAe: 'RIS', host: '127.0.0.1', port: risPort, callingAe: 'DXROOM1' }, stationAe: 'DXROOM1', device, log });
    svc = new CaptureService({ board, device, outboxDir, procedures: desk, log, forward: { calledAe: 'PACS', host: '127.0.0.1', port: scp.port }, forwardBackoffMs: { min: 50, max: 200 } });
    await svc.start();
    control = await startControlServer(outboxDir, desk, log);
    return { desk, link: `127.0.0.1:${svc.connector.boundPort}` };
  };
  let { desk, link } = await start();
  const ask = (rq: Parameters<typeof controlRequest>[1]) => controlRequest(control!.path, rq);

  // Only the service's user and group can reach the endpoint.
  assert.equal(statSync(control!.path).mode & 0o777, 0o660);
  assert.equal(statSync(join(outboxDir, 'worklist')).mode & 0o777, 0o750);

  // 1. Nothing selected: sealed and held, not forwarded.
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 100, port: link })).framesAcked, 1);
  assert.equal(desk.held().length, 1);
  assert.equal(svc!.outbox.pending().length + readdirSync(svc!.outbox.sentDir).length, 0, 'an unassigned exposure never enters the forward queue');

  // 2. list and select over the control socket; two exposures filed under ACC1.
  const list = await ask({ op: 'list' });
  assert.deepEqual((list.entries as Array<{ accessionNumber: string }>).map((e) => e.accessionNumber).sort(), ['ACC1', 'ACC2']);
  await assert.rejects(ask({ op: 'select', accession: 'NOPE' }), /NOPE is not in today's worklist for DXROOM1/);
  const sel = await ask({ op: 'select', accession: 'ACC1' });
  assert.equal((sel.selected as { patientName: string }).patientName, 'Müller^Anna');
  assert.equal((await runSimulator(board, { frames: 2, startSerial: 200, port: link })).framesAcked, 2);
  // 3. The next selection: the exposure after it goes to ACC2.
  await ask({ op: 'select', accession: 'ACC2' });
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 300, port: link })).framesAcked, 1);
  await until('three objects at PACS', () => readdirSync(scp.dir).length === 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(readdirSync(scp.dir).length, 3, 'the held exposure is still not forwarded');

  const atPacs = [...stored(scp.dir).values()];
  const acc1 = atPacs.filter((ds) => text(ds, T(0x0008, 0x0050)) === 'ACC1');
  const acc2 = atPacs.filter((ds) => text(ds, T(0x0008, 0x0050)) === 'ACC2');
  assert.equal(acc1.length, 2);
  assert.equal(acc2.length, 1);
  for (const ds of acc1) {
    assert.equal(text(ds, T(0x0010, 0x0010)), 'Müller^Anna');
    assert.equal(text(ds, T(0x0010, 0x0020)), 'PID-1');
    assert.equal(text(ds, T(0x0010, 0x0030)), '19700214');
    assert.equal(text(ds, T(0x0020, 0x000d)), '1.2.826.0.1.3680043.10.7.1', 'Study Instance UID from the worklist');
    const request = findElement(ds, T(0x0040, 0x0275))!.items![0]!;
    assert.equal(text(request, T(0x0040, 0x1001)), 'RP-ACC1');
    assert.equal(text(request, T(0x0040, 0x0009)), 'SPS-ACC1');
    assert.equal(text(request, T(0x0008, 0x0050)), 'ACC1');
    assert.equal(text(request, T(0x0020, 0x000d)), '1.2.826.0.1.3680043.10.7.1');
  }
  assert.equal(text(acc1[0]!, T(0x0020, 0x000e)), text(acc1[1]!, T(0x0020, 0x000e)), 'one series per selection');
  assert.deepEqual(acc1.map((ds) => text(ds, T(0x0020, 0x0013))).sort(), ['1', '2']);
  assert.equal(text(acc2[0]!, T(0x0010, 0x0010)), 'Roe^Bob');
  for (const f of readdirSync(svc!.outbox.sentDir)) {
    const r = verifyObject(f, new Uint8Array(readFileSync(join(svc!.outbox.sentDir, f))), trust);
    assert.equal(r.verdict, 'authentic', `${f}: ${r.reasons.join('; ')}`);
  }

  // 4. Restart: the held exposure is still held, and the device's resend of it is a duplicate.
  await control!.close();
  await svc!.stop();
  ({ desk, link } = await start());
  assert.equal((await ask({ op: 'status' })).selected, null, 'a selection does not outlive the service: after a restart exposures are held until someone selects again');
  assert.equal(desk.held().length, 1);
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 100, port: link })).duplicatesAcked, 1, 'a held frame is not sealed twice');
  assert.equal(desk.held().length, 1);

  // 5. Assign it: a second sealed object, filed under ACC1, goes to PACS; the first stays unchanged, unforwarded.
  const held = await ask({ op: 'unassigned' });
  const [h] = held.held as Array<{ name: string; sopInstanceUid: string }>;
  const originalPath = join(outboxDir, 'unassigned', 'ready', h!.name);
  const originalBytes = readFileSync(originalPath);
  const originalSha = createHash('sha256').update(originalBytes).digest('hex');
  await assert.rejects(ask({ op: 'assign', accession: 'ACC1', names: ['nosuch.dcm'], user: 'tech1' }), /nosuch.dcm is not held unassigned/);
  const assigned = await ask({ op: 'assign', accession: 'ACC1', names: 'all', user: 'tech1' });
  const [a] = assigned.assigned as Array<{ held: string; filed: string; sopInstanceUid: string }>;
  assert.equal(a!.held, h!.name);
  await until('the assigned object at PACS', () => readdirSync(scp.dir).length === 4);
  const filed = stored(scp.dir).get(a!.sopInstanceUid)!;
  assert.ok(filed, 'PACS has the assignment object');
  assert.ok(!stored(scp.dir).has(h!.sopInstanceUid), 'PACS never got the unassigned original');
  assert.equal(text(filed, T(0x0010, 0x0010)), 'Müller^Anna');
  assert.equal(text(filed, T(0x0020, 0x000d)), '1.2.826.0.1.3680043.10.7.1');
  assert.equal(text(findElement(filed, T(0x0040, 0x0275))!.items![0]!, T(0x0040, 0x1001)), 'RP-ACC1');
  assert.equal(text(findElement(filed, T(0x0008, 0x2112))!.items![0]!, T(0x0008, 0x1155)), h!.sopInstanceUid, 'Source Image Sequence names the original');
  assert.equal(text(filed, ASSIGNMENT_TAGS.unassignedSopInstanceUid), h!.sopInstanceUid);
  assert.equal(Buffer.from(findElement(filed, ASSIGNMENT_TAGS.unassignedFileSha256)!.value!).toString('hex'), originalSha);
  assert.equal(text(filed, ASSIGNMENT_TAGS.assignedBy), 'tech1');
  const keptPath = join(outboxDir, 'unassigned', 'sent', h!.name);
  assert.ok(readFileSync(keptPath).equals(originalBytes), 'the original is kept byte for byte');
  const original = readPart10(new Uint8Array(originalBytes)).dataSet;
  assert.ok(Buffer.from(findElement(original, T(0x7fe0, 0x0010))!.value!).equals(Buffer.from(findElement(filed, T(0x7fe0, 0x0010))!.value!)), 'same pixels');
  await until('the assignment object marked sent', () => readdirSync(svc!.outbox.sentDir).includes(a!.filed));
  const report = verifyObject(a!.filed, new Uint8Array(readFileSync(join(svc!.outbox.sentDir, a!.filed))), trust);
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  assert.equal(verifyObject(h!.name, new Uint8Array(originalBytes), trust).verdict, 'authentic', 'the original still verifies');
  assert.deepEqual((await ask({ op: 'unassigned' })).held, []);

  // 6. clear: nothing selected any more.
  await ask({ op: 'select', accession: 'ACC2' });
  const cleared = await ask({ op: 'clear' });
  assert.equal((cleared.cleared as { accession: string }).accession, 'ACC2');
  assert.equal((await ask({ op: 'status' })).selected, null);
  assert.ok(!logs.some((l) => /Müller|Roe\^Bob|Anna/.test(l)), 'no patient name in the log');
});
