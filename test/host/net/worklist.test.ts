// Modality Worklist C-FIND (and C-ECHO) against DCMTK wlmscpfs with worklist files made here
// by dump2dcm. wlmscpfs listens on every interface: run this file inside a private network
// namespace (unshare -n, as test/run.sh does).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localDicomDate, queryWorklist, WorklistError } from '../../../host/net/worklist.js';
import { cEcho } from '../../../host/net/echo.js';
import { DicomNetError } from '../../../host/net/cstore.js';
import { freePort } from './storescp.js';
import { loopbackOnly, NEEDS_PRIVATE_NETWORK, startWlmscpfs, writeWorklistFile } from './wlmscpfs.js';

const root = mkdtempSync(join(tmpdir(), 'radseal-wl-'));
const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const today = localDicomDate();
const data = join(root, 'data');
const aeDir = join(data, 'RIS');
mkdirSync(aeDir, { recursive: true });
writeFileSync(join(aeDir, 'lockfile'), '');
writeWorklistFile(aeDir, 'a', { accession: 'ACC1001', patientName: 'Müller^Jürgen', patientId: 'PID-1', station: 'DXROOM1', date: today, studyUid: '1.2.826.0.1.3680043.10.1.1' });
writeWorklistFile(aeDir, 'b', { accession: 'ACC1002', patientName: 'Doe^Jane', patientId: 'PID-2', station: 'DXROOM1', date: today, studyUid: '1.2.826.0.1.3680043.10.1.2' });
writeWorklistFile(aeDir, 'other-room', { accession: 'ACC2001', patientName: 'Roe^Richard', patientId: 'PID-3', station: 'DXROOM2', date: today, studyUid: '1.2.826.0.1.3680043.10.1.3' });
writeWorklistFile(aeDir, 'yesterday', { accession: 'ACC0999', patientName: 'Poe^Edgar', patientId: 'PID-4', station: 'DXROOM1', date: '20200101', studyUid: '1.2.826.0.1.3680043.10.1.4' });

const port = await freePort();
mkdirSync(join(root, 'requests'), { recursive: true });
// wlmscpfs has no bind address: outside a private network namespace it is never started.
const skip = loopbackOnly() ? false : NEEDS_PRIVATE_NETWORK;
if (!skip) procs.push(await startWlmscpfs(data, port, ['-rfp', join(root, 'requests')]));
const ris = { calledAe: 'RIS', host: '127.0.0.1', port, callingAe: 'DXROOM1' };

test("C-FIND returns this station's steps for today, typed, in the response's character set", { skip }, async () => {
  const r = await queryWorklist(ris, { stationAe: 'DXROOM1' });
  assert.equal(r.truncated, false);
  const byAccession = new Map(r.entries.map((e) => [e.accessionNumber, e]));
  assert.deepEqual([...byAccession.keys()].sort(), ['ACC1001', 'ACC1002'], 'another station and another day are not returned');
  const e = byAccession.get('ACC1001')!;
  assert.deepEqual(e, {
    patientName: 'Müller^Jürgen', patientId: 'PID-1', patientBirthDate: '19700214', patientSex: 'F', accessionNumber: 'ACC1001',
    studyInstanceUid: '1.2.826.0.1.3680043.10.1.1', requestedProcedureId: 'RP-ACC1001', requestedProcedureDescription: 'XR CHEST 2 VIEWS',
    referringPhysicianName: 'House^Gregory', scheduledStepId: 'SPS-ACC1001', scheduledStepDescription: 'Chest PA and lateral',
    scheduledStationAe: 'DXROOM1', scheduledStartDate: today, scheduledStartTime: '093000', modality: 'DX',
  });
  // wlmscpfs's own record of what it was asked (written with -rfp): our matching keys.
  const requests = readdirSync(join(root, 'requests')).map((f) => readFileSync(join(root, 'requests', f), 'latin1')).join('\n');
  assert.match(requests, /\(0040,0001\) AE \[DXROOM1 ?\]/);
  assert.match(requests, new RegExp(`\\(0040,0002\\) DA \\[${today}\\]`));
});

test('C-FIND: an empty worklist is success with no entries; maxEntries cancels the rest', { skip }, async () => {
  const none = await queryWorklist(ris, { stationAe: 'NOSUCHROOM' });
  assert.deepEqual(none, { entries: [], truncated: false });
  const one = await queryWorklist(ris, { stationAe: 'DXROOM1', maxEntries: 1 });
  assert.equal(one.entries.length, 1);
  assert.equal(one.truncated, true);
  // The SCP is still fine after a cancelled query.
  assert.equal((await queryWorklist(ris, { stationAe: 'DXROOM1' })).entries.length, 2);
});

test('C-FIND that outlasts its time-out is cancelled, with a clear error', { skip }, async () => {
  const slowPort = await freePort();
  const slow = await startWlmscpfs(data, slowPort, ['--sleep-during', '20']);
  procs.push(slow);
  const t0 = Date.now();
  await assert.rejects(
    queryWorklist({ ...ris, port: slowPort }, { stationAe: 'DXROOM1', timeoutMs: 700 }),
    (e: unknown) => e instanceof WorklistError && e.retryable && /did not answer within 700 ms .*cancelled/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 3000, `gave up in ${Date.now() - t0} ms`);
  slow.kill('SIGKILL');
});

test('worklist errors: nobody listening, wrong SOP class offered', { skip }, async () => {
  const closed = await freePort();
  await assert.rejects(queryWorklist({ ...ris, port: closed }, { stationAe: 'DXROOM1' }), (e: unknown) => e instanceof WorklistError && e.retryable && /cannot connect/.test(e.message));
  // storescp offers storage only: the worklist context is refused, and that is no transient failure.
  const { startStoreScp } = await import('./storescp.js');
  const scp = await startStoreScp(join(root, 'pacs'), await freePort());
  try {
    await assert.rejects(queryWorklist({ ...ris, calledAe: 'PACS', port: scp.port }, { stationAe: 'DXROOM1' }), (e: unknown) => e instanceof WorklistError && !e.retryable && /does not offer Modality Worklist FIND/.test(e.message));
  } finally {
    await scp.stop();
  }
});

test('C-ECHO: answered by wlmscpfs; nobody listening is a retryable DicomNetError', { skip }, async () => {
  const r = await cEcho(ris);
  assert.equal(r.status, 0);
  assert.ok(r.roundTripMs >= 0);
  await assert.rejects(cEcho({ ...ris, port: await freePort() }), (e: unknown) => e instanceof DicomNetError && e.retryable);
});
