// Procedure selection for capture, end to end: DCMTK wlmscpfs as the RIS (worklist files made
// by dump2dcm), the simulator on the link, the capture service with its worklist control
// socket, DCMTK storescp as PACS. Run inside a private network namespace (unshare -n).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import { loopbackOnly, NEEDS_PRIVATE_NETWORK, startWlmscpfs, writeWorklistFile } from '../net/wlmscpfs.js';
import { projectRoot } from '../../../host/core/wasm.js';
import { startRadseal } from '../support/run.js';

const PRIVATE = loopbackOnly();
const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'worklist.js'));


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

test('worklist: exposures filed under the selected procedure; none selected: held unassigned, never forwarded, until a signed assignment releases them', { skip: PRIVATE ? false : NEEDS_PRIVATE_NETWORK }, async (t) => {
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
  await assert.rejects(ask({ op: 'select', accession: 'ACC1', orientation: 'L\\R' }), /Patient Orientation "L\\R" must be two directions/);
  const sel = await ask({ op: 'select', accession: 'ACC1', orientation: 'L\\F', view: 'PA' });
  assert.equal((sel.selected as { patientName: string }).patientName, 'Müller^Anna');
  assert.equal((sel.selected as { orientation: string }).orientation, 'L\\F');
  assert.equal((await runSimulator(board, { frames: 2, startSerial: 200, port: link })).framesAcked, 2);
  // 3. The next selection: the exposure after it goes to ACC2 (its positioning said apart from the selection).
  await ask({ op: 'select', accession: 'ACC2' });
  assert.equal(((await ask({ op: 'status' })).selected as { orientation?: string }).orientation, undefined, "a new patient never inherits the last one's orientation");
  await ask({ op: 'position', orientation: 'a\\f', view: 'll' });
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 300, port: link })).framesAcked, 1);
  // Marked sent only once storescp answered, i.e. after it wrote the whole file.
  await until('three objects delivered', () => readdirSync(svc!.outbox.sentDir).length === 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(readdirSync(scp.dir).length, 3, 'the held exposure is still not forwarded');

  const atPacs = [...stored(scp.dir).values()];
  const acc1 = atPacs.filter((ds) => text(ds, T(0x0008, 0x0050)) === 'ACC1');
  const acc2 = atPacs.filter((ds) => text(ds, T(0x0008, 0x0050)) === 'ACC2');
  assert.equal(acc1.length, 2);
  assert.equal(acc2.length, 1);
  for (const ds of acc1) {
    assert.equal(text(ds, T(0x0020, 0x0020)), 'L\\F', 'the orientation the technologist said');
    assert.equal(text(ds, T(0x0018, 0x5101)), 'PA');
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
  assert.equal(text(acc2[0]!, T(0x0020, 0x0020)), 'A\\F');
  assert.equal(text(acc2[0]!, T(0x0018, 0x5101)), 'LL');
  for (const f of readdirSync(svc!.outbox.sentDir)) {
    const r = verifyObject(f, new Uint8Array(readFileSync(join(svc!.outbox.sentDir, f))), trust);
    assert.equal(r.verdict, 'authentic', `${f}: ${r.reasons.join('; ')}`);
  }

  // 4. Restart: the selection (ACC2, A\F LL, one image) is still there, saved 0600 in the service's
  // folder; the held exposure is still held, and the device's resend of it is a duplicate.
  const selectionFile = join(outboxDir, 'worklist', 'selection.json');
  assert.equal(statSync(selectionFile).mode & 0o777, 0o600);
  await control!.close();
  await svc!.stop();
  ({ desk, link } = await start());
  const restored = (await ask({ op: 'status' })).selected as { accession: string; orientation: string; view: string; images: number };
  assert.deepEqual([restored.accession, restored.orientation, restored.view, restored.images], ['ACC2', 'A\\F', 'LL', 1], 'the selection survives the restart');
  assert.ok(logs.some((l) => /accession ACC2 is still selected from before the restart \(1 image/.test(l)));
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 400, port: link })).framesAcked, 1);
  await until('the exposure after the restart delivered', () => readdirSync(svc!.outbox.sentDir).length === 4);
  const afterRestart = [...stored(scp.dir).values()].filter((ds) => text(ds, T(0x0008, 0x0050)) === 'ACC2');
  assert.equal(afterRestart.length, 2, 'filed under the restored selection');
  assert.deepEqual(afterRestart.map((ds) => text(ds, T(0x0020, 0x0013))).sort(), ['1', '2'], 'instance numbers go on');
  assert.equal(text(afterRestart[0]!, T(0x0020, 0x000e)), text(afterRestart[1]!, T(0x0020, 0x000e)), 'same series across the restart');
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
  // It was taken with nothing selected, so with no orientation: the assignment must say one.
  await assert.rejects(ask({ op: 'assign', accession: 'ACC1', names: 'all', user: 'tech1' }), /taken with no patient orientation/);
  const assigned = await ask({ op: 'assign', accession: 'ACC1', names: 'all', user: 'tech1', orientation: 'R\\F', view: 'AP' });
  const [a] = assigned.assigned as Array<{ held: string; filed: string; sopInstanceUid: string }>;
  assert.equal(a!.held, h!.name);
  await until('the assignment object delivered', () => readdirSync(svc!.outbox.sentDir).includes(a!.filed));
  const filed = stored(scp.dir).get(a!.sopInstanceUid)!;
  assert.ok(filed, 'PACS has the assignment object');
  assert.ok(!stored(scp.dir).has(h!.sopInstanceUid), 'PACS never got the unassigned original');
  assert.equal(text(filed, T(0x0010, 0x0010)), 'Müller^Anna');
  assert.equal(text(filed, T(0x0020, 0x0020)), 'R\\F');
  assert.equal(text(filed, T(0x0018, 0x5101)), 'AP');
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
  const report = verifyObject(a!.filed, new Uint8Array(readFileSync(join(svc!.outbox.sentDir, a!.filed))), trust);
  assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
  assert.equal(verifyObject(h!.name, new Uint8Array(originalBytes), trust).verdict, 'authentic', 'the original still verifies');
  assert.deepEqual((await ask({ op: 'unassigned' })).held, []);

  // 6. clear: nothing selected any more.
  await ask({ op: 'select', accession: 'ACC2' });
  const cleared = await ask({ op: 'clear' });
  assert.equal((cleared.cleared as { accession: string }).accession, 'ACC2');
  assert.equal((await ask({ op: 'status' })).selected, null);
  // A cleared selection stays cleared across a restart; a torn state file is set aside, not guessed from.
  await control!.close();
  await svc!.stop();
  ({ desk, link } = await start());
  assert.equal((await ask({ op: 'status' })).selected, null);
  await control!.close();
  await svc!.stop();
  writeFileSync(selectionFile, '{"version":1,"procedure":{"entry":');
  ({ desk, link } = await start());
  assert.equal((await ask({ op: 'status' })).selected, null);
  assert.ok(logs.some((l) => /selection\.json could not be read back .* set aside as .*unreadable-\d+, nothing is selected/.test(l)));
  assert.ok(!logs.some((l) => /Müller|Roe\^Bob|Anna/.test(l)), 'no patient name in the log');
});

test('CLI: radseal capture --worklist and radseal worklist list|select|status|clear|unassigned|assign over the control socket', { skip: !PRIVATE ? NEEDS_PRIVATE_NETWORK : BUILT ? false : 'dist/ missing: run npx tsc -p tsconfig.json first', timeout: 60000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-proc-cli-'));
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const aeDir = join(dir, 'wl', 'RIS');
  mkdirSync(aeDir, { recursive: true });
  writeFileSync(join(aeDir, 'lockfile'), '');
  writeWorklistFile(aeDir, 'a', { accession: 'ACC1', patientName: 'Doe^Jane', patientId: 'PID-1', station: 'DXROOM1', date: localDicomDate(), studyUid: '1.2.826.0.1.3680043.10.6.1' });
  const risPort = await freePort();
  children.push(await startWlmscpfs(join(dir, 'wl'), risPort));
  const linkPort = await freePort();
  const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: linkPort, captureRole: 'listen' } }, detector: { deviceId: 'SIM-CLI-2', rows: 128, cols: 128, bitsStored: 12 } });
  const boardFile = join(dir, 'board.json');
  writeFileSync(boardFile, JSON.stringify(board));
  assert.equal((await startRadseal(['keygen', '--id', 'SIM-CLI-2', '--out', join(dir, 'keys')], { children }).done).code, 0);
  const outbox = join(dir, 'outbox');
  const capture = startRadseal(['capture', '--board', boardFile, '--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt'), '--outbox', outbox,
    '--worklist', `RIS@127.0.0.1:${risPort}`, '--worklist-station', 'DXROOM1', '--status-every', '3600'], { children });
  await until('the control socket', () => existsSync(join(outbox, 'worklist', 'control.sock')));
  const wl = async (...args: string[]) => {
    const r = await startRadseal(['worklist', ...args, '--outbox', outbox], { children }).done;
    assert.equal(r.code, 0, r.out);
    return r.out;
  };
  assert.match(await wl('list'), /ACC1 .*Doe\^Jane \(PID-1, 19700214 F\)\s+Chest PA and lateral\s+\[step SPS-ACC1\]/);
  const noOrientation = await startRadseal(['worklist', 'select', 'ACC1', '--outbox', outbox], { children }).done;
  assert.notEqual(noOrientation.code, 0);
  assert.match(noOrientation.out, /required option '--orientation <row\\col>' not specified/);
  assert.match(await wl('select', 'ACC1', '--orientation', 'L\\F', '--view', 'PA'), /selected: ACC1 step SPS-ACC1: Doe\^Jane \(PID-1\), Chest PA and lateral; 0 image\(s\) so far; next exposures L\\F PA/);
  assert.match(await wl('position', '--orientation', 'A\\F', '--view', 'LL'), /selected: ACC1 .*; next exposures A\\F LL/);
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 7, port: `127.0.0.1:${linkPort}` })).framesAcked, 1);
  assert.match(await wl('status'), /selected: ACC1 .*1 image\(s\) so far; next exposures A\\F LL\nheld unassigned: 0/);
  assert.match(await wl('clear'), /cleared: ACC1/);
  assert.equal((await runSimulator(board, { frames: 1, startSerial: 8, port: `127.0.0.1:${linkPort}` })).framesAcked, 1);
  assert.match(await wl('unassigned'), /^\d{12}-SIM%2dCLI%2d2-8\.dcm {2}device SIM-CLI-2 frame 8 {2}2\.25\.\d+$/m);
  assert.match(await wl('assign', 'ACC1', '--unassigned', 'all', '--orientation', 'L\\F'), /^\d{12}-SIM%2dCLI%2d2-8\.dcm -> \d{12}-SIM%2dCLI%2d2-8\.dcm \(filed under ACC1, queued for PACS\)$/m);
  const bad = await startRadseal(['worklist', 'select', 'NOPE', '--orientation', 'L\\F', '--outbox', outbox], { children }).done;
  assert.equal(bad.code, 2);
  assert.match(bad.out, /radseal: accession NOPE is not in today's worklist for DXROOM1/);
  capture.proc.kill('SIGTERM');
  const cap = await capture.done;
  assert.equal(cap.code, 0, cap.out);
  assert.match(cap.out, /worklist: RIS@127\.0\.0\.1:\d+ for station DXROOM1; radseal worklist talks to .*control\.sock/);
  assert.ok(!/Doe\^Jane/.test(cap.out), 'the capture log never names the patient');
  assert.equal(readdirSync(join(outbox, 'ready')).length, 2, 'queued: the exposure taken under ACC1 and the assignment object of the one taken after clear');
  assert.equal(readdirSync(join(outbox, 'unassigned', 'sent')).length, 1, 'the held original is kept, not queued');
  const noService = await startRadseal(['worklist', 'status', '--outbox', outbox], { children }).done;
  assert.match(noService.out, /no capture service with --worklist is running on that outbox/);
});
