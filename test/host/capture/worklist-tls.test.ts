// Worklist and MPPS over DICOM TLS, through the CLI: `radseal capture --worklist … --worklist-tls-*
// --mpps … --mpps-tls-*` against DCMTK wlmscpfs behind socat's OpenSSL listener (this Debian
// wlmscpfs has no TLS of its own) and a dcmjs-dimse MPPS SCP with Node's TLS server, both
// requiring a client certificate from the site CA. A RIS certificate from another CA, or no TLS
// where TLS is expected, gets no worklist. Certificates are made here with the openssl CLI.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjsDimse from 'dcmjs-dimse';
import { loadTls, type DicomTls } from '../../../host/net/tls.js';
import { localDicomDate, queryWorklist } from '../../../host/net/worklist.js';
import { MPPS_SOP_CLASS } from '../../../host/net/mpps.js';
import { projectRoot } from '../../../host/core/wasm.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { testBoard } from '../link/harness.js';
import { freePort } from '../net/storescp.js';
import { loopbackOnly, NEEDS_PRIVATE_NETWORK, startWlmscpfs, writeWorklistFile } from '../net/wlmscpfs.js';
import { startRadseal } from '../support/run.js';
import { makePki } from '../support/openssl-pki.js';

const { Server, Scp, constants, responses } = dcmjsDimse;
dcmjsDimse.log.setLevel('error');
const { Status, PresentationContextResult, TransferSyntax } = constants;
const PRIVATE = loopbackOnly();
const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'worklist.js'));
const skip = !PRIVATE ? NEEDS_PRIVATE_NETWORK : BUILT ? false : 'dist/ missing: run npx tsc -p tsconfig.json first';

const dir = mkdtempSync(join(tmpdir(), 'rs-wltls-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});


async function listening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((res) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); res(true); }).once('error', () => res(false)));
    if (up) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** socat terminating TLS (client certificate required, from cafile) in front of a plain port. */
async function tlsFront(port: number, to: number, cert: string, key: string, cafile: string): Promise<void> {
  const p = spawn('socat', [`OPENSSL-LISTEN:${port},reuseaddr,fork,cert=${join(dir, cert)},key=${join(dir, key)},cafile=${join(dir, cafile)},verify=1`, `TCP:127.0.0.1:${to}`], { stdio: 'ignore' });
  children.push(p);
  await listening(port);
}

interface Told { op: 'N-CREATE' | 'N-SET'; uid: string; status?: string; callingAe: string }
const told: Told[] = [];
class MppsScp extends Scp {
  private callingAe = '';
  override associationRequested(association: any): void {
    this.callingAe = association.getCallingAeTitle();
    for (const c of association.getPresentationContexts()) {
      const ctx = association.getPresentationContext(c.id);
      if (ctx.getAbstractSyntaxUid() === MPPS_SOP_CLASS && ctx.getTransferSyntaxUids().includes(TransferSyntax.ImplicitVRLittleEndian)) ctx.setResult(PresentationContextResult.Accept, TransferSyntax.ImplicitVRLittleEndian);
      else ctx.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
    }
    this.sendAssociationAccept();
  }
  override nCreateRequest(request: any, callback: (r: any) => void): void {
    told.push({ op: 'N-CREATE', uid: request.getAffectedSopInstanceUid(), status: request.getDataset().getElements().PerformedProcedureStepStatus, callingAe: this.callingAe });
    const r = responses.NCreateResponse.fromRequest(request);
    r.setStatus(Status.Success);
    callback(r);
  }
  override nSetRequest(request: any, callback: (r: any) => void): void {
    told.push({ op: 'N-SET', uid: request.getRequestedSopInstanceUid(), status: request.getDataset().getElements().PerformedProcedureStepStatus, callingAe: this.callingAe });
    const r = responses.NSetResponse.fromRequest(request);
    r.setStatus(Status.Success);
    callback(r);
  }
  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
}

async function until(what: string, ok: () => boolean, ms = 20000): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 25))) if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
}

test('worklist and MPPS over TLS: the CLI queries wlmscpfs behind TLS and reports to a TLS MPPS SCP; a rogue or plain RIS gets nothing', { skip, timeout: 90000 }, async () => {
  makePki(dir, 'site-ca', [{ name: 'ris', san: 'IP:127.0.0.1' }, { name: 'mpps', san: 'IP:127.0.0.1' }, { name: 'station' }]);
  makePki(dir, 'rogue-ca', [{ name: 'rogue', san: 'IP:127.0.0.1' }]);
  const aeDir = join(dir, 'wl', 'RIS');
  mkdirSync(aeDir, { recursive: true });
  writeFileSync(join(aeDir, 'lockfile'), '');
  writeWorklistFile(aeDir, 'a', { accession: 'ACC-TLS', patientName: 'Doe^Jane', patientId: 'PID-9', station: 'DXROOM1', date: localDicomDate(), studyUid: '1.2.826.0.1.3680043.10.9.1' });
  const plainPort = await freePort();
  children.push(await startWlmscpfs(join(dir, 'wl'), plainPort));
  const risPort = await freePort();
  await tlsFront(risPort, plainPort, 'ris.pem', 'ris.key', 'site-ca.pem');
  const roguePort = await freePort();
  await tlsFront(roguePort, plainPort, 'rogue.pem', 'rogue.key', 'site-ca.pem');
  const mppsPort = await freePort();
  const server = new Server(MppsScp);
  server.listen(mppsPort, { securityOptions: { key: readFileSync(join(dir, 'mpps.key')), cert: readFileSync(join(dir, 'mpps.pem')), ca: readFileSync(join(dir, 'site-ca.pem')), requestCert: true, rejectUnauthorized: true } });
  try {
    await listening(mppsPort);
    const station = loadTls({ key: join(dir, 'station.key'), cert: join(dir, 'station.pem'), ca: join(dir, 'site-ca.pem') });
    const query = (port: number, tls: DicomTls | null = station) => queryWorklist({ calledAe: 'RIS', host: '127.0.0.1', port, callingAe: 'DXROOM1', tls: tls ?? undefined, timeoutMs: 5000 }, { stationAe: 'DXROOM1' });
    // The RIS over TLS answers; one with another CA's certificate, or the TLS port spoken to in plain, does not.
    assert.deepEqual((await query(risPort)).entries.map((e) => e.accessionNumber), ['ACC-TLS']);
    await assert.rejects(query(roguePort), /certificate/i);
    await assert.rejects(query(risPort, null));

    // The CLI: half a TLS identity is refused up front, naming what is missing.
    const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: await freePort(), captureRole: 'listen' } }, detector: { deviceId: 'SIM-TLS-1', rows: 128, cols: 128, bitsStored: 12 } });
    const boardFile = join(dir, 'board.json');
    writeFileSync(boardFile, JSON.stringify(board));
    assert.equal((await startRadseal(['keygen', '--id', 'SIM-TLS-1', '--out', join(dir, 'keys')], { children }).done).code, 0);
    const outbox = join(dir, 'outbox');
    const base = ['capture', '--board', boardFile, '--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt'), '--outbox', outbox,
      '--worklist', `RIS@127.0.0.1:${risPort}`, '--worklist-station', 'DXROOM1', '--status-every', '3600'];
    const half = await startRadseal([...base, '--worklist-tls-key', join(dir, 'station.key')], { children }).done;
    assert.notEqual(half.code, 0);
    assert.match(half.out, /worklist over TLS needs all of --worklist-tls-key, --worklist-tls-cert and --worklist-tls-ca/);

    const tlsArgs = (what: string) => [`--${what}-tls-key`, join(dir, 'station.key'), `--${what}-tls-cert`, join(dir, 'station.pem'), `--${what}-tls-ca`, join(dir, 'site-ca.pem')];
    const capture = startRadseal([...base, ...tlsArgs('worklist'), '--mpps', `MPPS@127.0.0.1:${mppsPort}`, ...tlsArgs('mpps')], { children });
    await until('the control socket', () => existsSync(join(outbox, 'worklist', 'control.sock')));
    const wl = async (...args: string[]) => {
      const r = await startRadseal(['worklist', ...args, '--outbox', outbox], { children }).done;
      assert.equal(r.code, 0, r.out);
      return r.out;
    };
    assert.match(await wl('list'), /ACC-TLS .*Doe\^Jane \(PID-9/);
    assert.match(await wl('select', 'ACC-TLS', '--orientation', 'L\\F'), /selected: ACC-TLS/);
    const link = `127.0.0.1:${board.link.tcp!.port}`;
    assert.equal((await runSimulator(board, { frames: 1, startSerial: 1, port: link })).framesAcked, 1);
    await until('N-CREATE over TLS', () => told.some((t) => t.op === 'N-CREATE'));
    assert.match(await wl('clear'), /cleared: ACC-TLS/);
    await until('N-SET over TLS', () => told.some((t) => t.op === 'N-SET'));
    assert.deepEqual(told.map((t) => [t.op, t.status, t.callingAe]), [['N-CREATE', 'IN PROGRESS', 'DXROOM1'], ['N-SET', 'COMPLETED', 'DXROOM1']]);
    assert.match(capture.output(), /worklist: RIS@127\.0\.0\.1:\d+ over TLS for station DXROOM1; MPPS to MPPS@127\.0\.0\.1:\d+ over TLS/);
    capture.proc.kill('SIGTERM');
    await capture.done;
  } finally {
    server.close();
  }
});
