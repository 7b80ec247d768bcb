// MPPS against an independent SCP: a dcmjs-dimse Server (npm, not radseal's code) that
// records what it is told. Its Server binds every interface (DESIGN §6): run this file only
// inside a private network namespace (unshare -n, as test/run.sh does).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjsDimse from 'dcmjs-dimse';
import { MppsReporter, MPPS_SOP_CLASS, type PerformedProcedure } from '../../../host/net/mpps.js';
import { localDicomDate, type WorklistEntry } from '../../../host/net/worklist.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { CaptureService } from '../../../host/capture/service.js';
import { ProcedureDesk } from '../../../host/capture/procedure.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { parsePart10 } from '../../../host/net/cstore.js';
import { readFileSync } from 'node:fs';
import { testBoard } from '../link/harness.js';
import { freePort } from './storescp.js';
import { loopbackOnly, NEEDS_PRIVATE_NETWORK, startWlmscpfs, writeWorklistFile } from './wlmscpfs.js';

const { Server, Scp, constants, responses } = dcmjsDimse;
dcmjsDimse.log.setLevel('error'); // its per-association dumps would carry the test patients' names
const { Status, PresentationContextResult, TransferSyntax, SopClass } = constants;
const { NCreateResponse, NSetResponse, CEchoResponse } = responses;

interface Told {
  op: 'N-CREATE' | 'N-SET';
  sopInstanceUid: string;
  callingAe: string;
  /** The attributes as dcmjs reads them (naturalized). */
  attributes: Record<string, any>;
  status: number;
}

/** What the MPPS SCP was told, in order; it refuses an N-SET for an instance it never created or already finished. */
const told: Told[] = [];
const finished = new Set<string>();

class RecordingMppsScp extends Scp {
  private callingAe = '';
  override associationRequested(association: any): void {
    this.callingAe = association.getCallingAeTitle();
    for (const c of association.getPresentationContexts()) {
      const context = association.getPresentationContext(c.id);
      const known = [MPPS_SOP_CLASS, SopClass.Verification].includes(context.getAbstractSyntaxUid());
      // Implicit VR only: the SCU must encode its attribute lists the way the SCP accepted.
      if (known && context.getTransferSyntaxUids().includes(TransferSyntax.ImplicitVRLittleEndian)) context.setResult(PresentationContextResult.Accept, TransferSyntax.ImplicitVRLittleEndian);
      else context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
    }
    this.sendAssociationAccept();
  }
  override cEchoRequest(request: any, callback: (r: any) => void): void {
    const r = CEchoResponse.fromRequest(request);
    r.setStatus(Status.Success);
    callback(r);
  }
  override nCreateRequest(request: any, callback: (r: any) => void): void {
    const uid = request.getAffectedSopInstanceUid();
    const created = told.some((t) => t.op === 'N-CREATE' && t.sopInstanceUid === uid && t.status === Status.Success);
    const status = created ? Status.DuplicateSOPInstance : Status.Success;
    told.push({ op: 'N-CREATE', sopInstanceUid: uid, callingAe: this.callingAe, attributes: request.getDataset().getElements(), status });
    const r = NCreateResponse.fromRequest(request);
    r.setStatus(status);
    callback(r);
  }
  override nSetRequest(request: any, callback: (r: any) => void): void {
    const uid = request.getRequestedSopInstanceUid();
    const created = told.some((t) => t.op === 'N-CREATE' && t.sopInstanceUid === uid && t.status === Status.Success);
    const status = !created ? Status.NoSuchObjectInstance : finished.has(uid) ? Status.ProcessingFailure : Status.Success;
    const attributes = request.getDataset().getElements();
    if (status === Status.Success && attributes.PerformedProcedureStepStatus !== 'IN PROGRESS') finished.add(uid);
    told.push({ op: 'N-SET', sopInstanceUid: uid, callingAe: this.callingAe, attributes, status });
    const r = NSetResponse.fromRequest(request);
    r.setStatus(status);
    callback(r);
  }
  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
}

// dcmjs-dimse's Server has no bind address: outside a private network namespace it is never started.
const PRIVATE = loopbackOnly();
const skip = PRIVATE ? false : NEEDS_PRIVATE_NETWORK;
const mppsPort = await freePort();
const server = new Server(RecordingMppsScp);
const procs: ChildProcess[] = [];
const root = mkdtempSync(join(tmpdir(), 'rs-mpps-'));
after(() => {
  if (PRIVATE) server.close();
  for (const p of procs) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
if (PRIVATE) {
  server.listen(mppsPort);
  await new Promise<void>((res) => {
    const poll = () => net.connect(mppsPort, '127.0.0.1').on('connect', function (this: net.Socket) {
      this.destroy();
      res();
    }).on('error', () => setTimeout(poll, 20));
    poll();
  });
}
const mpps = { calledAe: 'MPPS', host: '127.0.0.1', port: mppsPort, callingAe: 'DXROOM1' };
const name = (v: unknown): string => (Array.isArray(v) ? (v[0] as { Alphabetic?: string })?.Alphabetic ?? String(v[0]) : typeof v === 'object' && v ? (v as { Alphabetic: string }).Alphabetic : String(v ?? ''));

const entry: WorklistEntry = {
  patientName: 'Müller^Anna', patientId: 'PID-1', patientBirthDate: '19700214', patientSex: 'F', accessionNumber: 'ACC9',
  studyInstanceUid: '1.2.826.0.1.3680043.10.9.1', requestedProcedureId: 'RP-ACC9', requestedProcedureDescription: 'XR CHEST',
  referringPhysicianName: 'House^Gregory', scheduledStepId: 'SPS-ACC9', scheduledStepDescription: 'Chest PA', scheduledStationAe: 'DXROOM1',
  scheduledStartDate: '20261203', scheduledStartTime: '0930', modality: 'DX',
};
const procedure = (mppsInstanceUid: string): PerformedProcedure => ({
  entry, studyInstanceUid: entry.studyInstanceUid, seriesInstanceUid: `${mppsInstanceUid}.5`, performedStepId: 'PPS1', startedAt: new Date(), mppsInstanceUid, instances: [],
});

test('MPPS: N-CREATE IN PROGRESS, then N-SET COMPLETED with the images in Performed Series Sequence', { skip }, async () => {
  const logs: string[] = [];
  const reporter = new MppsReporter(mpps, { stationAe: 'DXROOM1', log: (m) => logs.push(m) });
  const p = procedure('1.2.826.0.1.3680043.10.9.100');
  reporter.started(p);
  p.instances.push({ sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', sopInstanceUid: '1.2.3.1' }, { sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', sopInstanceUid: '1.2.3.2' });
  reporter.ended(p, 'COMPLETED');
  await reporter.drain();
  const mine = told.filter((t) => t.sopInstanceUid === p.mppsInstanceUid);
  assert.deepEqual(mine.map((t) => [t.op, t.status]), [['N-CREATE', Status.Success], ['N-SET', Status.Success]], logs.join('\n'));
  const [create, set] = mine;
  assert.equal(create!.callingAe, 'DXROOM1');
  const c = create!.attributes;
  assert.equal(c.PerformedProcedureStepStatus, 'IN PROGRESS');
  assert.equal(name(c.PatientName), 'Müller^Anna');
  assert.equal(c.PatientID, 'PID-1');
  assert.equal(c.PerformedStationAETitle, 'DXROOM1');
  assert.equal(c.PerformedProcedureStepID, 'PPS1');
  assert.equal(c.Modality, 'DX');
  const scheduled = c.ScheduledStepAttributesSequence[0];
  assert.equal(scheduled.AccessionNumber, 'ACC9');
  assert.equal(scheduled.StudyInstanceUID, entry.studyInstanceUid);
  assert.equal(scheduled.ScheduledProcedureStepID, 'SPS-ACC9');
  assert.equal(scheduled.RequestedProcedureID, 'RP-ACC9');
  const s = set!.attributes;
  assert.equal(s.PerformedProcedureStepStatus, 'COMPLETED');
  assert.ok(/^\d{8}$/.test(s.PerformedProcedureStepEndDate));
  const series = s.PerformedSeriesSequence[0];
  assert.equal(series.SeriesInstanceUID, p.seriesInstanceUid);
  assert.deepEqual(series.ReferencedImageSequence.map((i: Record<string, string>) => i.ReferencedSOPInstanceUID), ['1.2.3.1', '1.2.3.2']);
  assert.ok(logs.every((l) => !/Müller/.test(l)), 'no patient name in the log');
});

test('MPPS: DISCONTINUED; an unreachable SCP is retried, then logged, and never throws into capture', { skip }, async () => {
  const reporter = new MppsReporter(mpps, { stationAe: 'DXROOM1' });
  const p = procedure('1.2.826.0.1.3680043.10.9.200');
  reporter.started(p);
  p.instances.push({ sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', sopInstanceUid: '1.2.3.9' });
  reporter.ended(p, 'DISCONTINUED');
  await reporter.drain();
  assert.equal(told.filter((t) => t.sopInstanceUid === p.mppsInstanceUid).at(-1)!.attributes.PerformedProcedureStepStatus, 'DISCONTINUED');

  const logs: string[] = [];
  const down = new MppsReporter({ ...mpps, port: await freePort() }, { stationAe: 'DXROOM1', attempts: 2, retryDelayMs: 20, log: (m) => logs.push(m) });
  const q = procedure('1.2.826.0.1.3680043.10.9.300');
  down.started(q);
  down.ended(q, 'COMPLETED');
  await down.drain();
  assert.match(logs[0]!, /N-CREATE IN PROGRESS for accession ACC9 not reported: cannot connect/);
  assert.match(logs[1]!, /N-SET COMPLETED .* not reported: its N-CREATE was never taken/);
});

test('capture --mpps: IN PROGRESS at the first exposure of a selected procedure, COMPLETED with the sealed instances at the next selection', { skip }, async () => {
  const aeDir = join(root, 'wl', 'RIS');
  mkdirSync(aeDir, { recursive: true });
  writeFileSync(join(aeDir, 'lockfile'), '');
  writeWorklistFile(aeDir, 'a', { accession: 'ACC1', patientName: 'Doe^Jane', patientId: 'PID-1', station: 'DXROOM1', date: localDicomDate(), studyUid: '1.2.826.0.1.3680043.10.8.1' });
  writeWorklistFile(aeDir, 'b', { accession: 'ACC2', patientName: 'Roe^Bob', patientId: 'PID-2', station: 'DXROOM1', date: localDicomDate(), studyUid: '1.2.826.0.1.3680043.10.8.2' });
  const risPort = await freePort();
  procs.push(await startWlmscpfs(join(root, 'wl'), risPort));
  const keys = await generateDeviceKey('SIM-0001', join(root, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'test');
  const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-0001', rows: 128, cols: 128, bitsStored: 12 } });
  const reporter = new MppsReporter(mpps, { stationAe: 'DXROOM1' });
  const desk = new ProcedureDesk(join(root, 'outbox'), { worklist: { calledAe: 'RIS', host: '127.0.0.1', port: risPort, callingAe: 'DXROOM1' }, stationAe: 'DXROOM1', device, reporter });
  const svc = new CaptureService({ board, device, outboxDir: join(root, 'outbox'), procedures: desk });
  try {
    await svc.start();
    const link = `127.0.0.1:${svc.connector.boundPort}`;
    const p = await desk.select('ACC1');
    await reporter.drain();
    assert.equal(told.filter((t) => t.sopInstanceUid === p.mppsInstanceUid).length, 0, 'nothing reported before the first exposure');
    assert.equal((await runSimulator(board, { frames: 2, startSerial: 10, port: link })).framesAcked, 2);
    await reporter.drain();
    assert.deepEqual(told.filter((t) => t.sopInstanceUid === p.mppsInstanceUid).map((t) => t.op), ['N-CREATE']);
    await desk.select('ACC2'); // the next selection ends ACC1
    await reporter.drain();
    const set = told.filter((t) => t.sopInstanceUid === p.mppsInstanceUid).at(-1)!;
    assert.equal(set.op, 'N-SET');
    assert.equal(set.attributes.PerformedProcedureStepStatus, 'COMPLETED');
    const sealedUids = svc.outbox.pending().map((e) => parsePart10(new Uint8Array(readFileSync(e.path))).sopInstanceUid).sort();
    assert.deepEqual(set.attributes.PerformedSeriesSequence[0].ReferencedImageSequence.map((i: Record<string, string>) => i.ReferencedSOPInstanceUID).sort(), sealedUids);
    // The images name their MPPS (Referenced Performed Procedure Step Sequence).
    const { readPart10 } = await import('../../../host/dicom/reader.js');
    const ds = readPart10(new Uint8Array(readFileSync(svc.outbox.pending()[0]!.path))).dataSet;
    const ref = ds.find((e) => e.tag === 0x00081111)!.items![0]!;
    assert.equal(new TextDecoder().decode(ref.find((e) => e.tag === 0x00081155)!.value).replace(/\0$/, ''), p.mppsInstanceUid);
    // ACC2 selected but never exposed: clearing it reports nothing (no MPPS was ever created for it).
    const before = told.length;
    desk.clear('DISCONTINUED');
    await reporter.drain();
    assert.equal(told.length, before);
  } finally {
    await svc.stop();
    await desk.close();
  }
});
