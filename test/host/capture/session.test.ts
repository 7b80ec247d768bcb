// Technologist sessions with a running capture service: the real session
// socket, a PIN-encrypted key file and a key on a real SoftHSM token, frames
// over the real link from the simulator, and verify as the judge of who
// co-signed each sealed object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PYTHON, ROOT, run, tempDir, type Run } from '../support/run.js';
import { SOFTHSM_MODULE, useSoftHsm } from '../support/softhsm.js';
import { generateDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { TokenSession, openPkcs11Signer } from '../../../host/keys/pkcs11.js';
import { issueCertificate } from '../../../host/keys/x509.js';
import { toPem } from '../../../host/keys/pem.js';
import { EKU_TECHNOLOGIST } from '../../../host/keys/pki/profiles.js';
import { CaptureService } from '../../../host/capture/service.js';
import { SessionEndpoint, sessionRequest, type SessionReply } from '../../../host/capture/session-endpoint.js';
import type { WithoutTechnologist } from '../../../host/seal/session.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { testBoard } from '../link/harness.js';
import { ProcedureDesk } from '../../../host/capture/procedure.js';

const dir = tempDir('radseal-session-');
useSoftHsm(dir); // before anything loads the PKCS#11 module
const TOKEN = 'Tech badge 7';
const FILE_PIN = 'file-pin-5521';
const TOKEN_PIN = 'token-pin-8812';
const WRONG_PIN = 'wrong-pin-0000';
const SECRETS = [FILE_PIN, TOKEN_PIN, WRONG_PIN];
const techDir = join(dir, 'technologists');
let trustPem = '';
let device: ReturnType<typeof loadDeviceIdentity>;

test('set-up: device key, T100 with a PIN-encrypted key file, T200 with a key generated on a SoftHSM token', async () => {
  const keys = await generateDeviceKey('SIM-SESS-1', join(dir, 'keys'));
  device = loadDeviceIdentity(keys.key, keys.cert);
  const t100 = await generateTechnologistKey('T100', techDir, FILE_PIN);
  const init = run('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', TOKEN_PIN, '--so-pin', '12345678']);
  assert.equal(init.code, 0, init.stderr);
  const s = TokenSession.open(SOFTHSM_MODULE, TOKEN, TOKEN_PIN);
  const pub = s.generateEd25519('tech-T200');
  s.close();
  const signer = openPkcs11Signer({ module: SOFTHSM_MODULE, token: TOKEN, keyLabel: 'tech-T200' }, TOKEN_PIN);
  const der = await issueCertificate({ subject: { commonName: 'T200', surname: 'Roe', givenName: 'Ann', organization: 'radseal technologist' }, subjectPublicKey: pub, issuerSigner: signer, extendedKeyUsage: [EKU_TECHNOLOGIST] });
  signer.close();
  writeFileSync(join(techDir, 'T200.crt'), toPem('CERTIFICATE', der));
  writeFileSync(join(techDir, 'T200.p11'), `pkcs11:token=${encodeURIComponent(TOKEN)};object=tech-T200?module-path=${SOFTHSM_MODULE}\n`);
  trustPem = [keys.cert, t100.cert, join(techDir, 'T200.crt')].map((f) => readFileSync(f, 'utf8')).join('');
});

interface Station {
  svc: CaptureService;
  sessions: SessionEndpoint;
  outbox: string;
  logs: string[];
  ask: (req: Parameters<typeof sessionRequest>[1]) => Promise<SessionReply>;
  expose: (serial: number) => Promise<void>;
  /** Who co-signed each object in ready/ since the last call, by verify's technologist report. */
  cosigners: () => Array<string | null>;
}

async function station(name: string, withoutTechnologist: WithoutTechnologist, idleTimeoutMs: number, procedures?: ProcedureDesk): Promise<Station> {
  const outbox = join(dir, name);
  const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-SESS-1', rows: 64, cols: 64, bitsStored: 12 } });
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  let svc: CaptureService | undefined;
  const sessions = new SessionEndpoint({
    outboxDir: outbox, technologistsDir: techDir, idleTimeoutMs, withoutTechnologist, log, refusalDelayMs: 10,
    confirm: (t) => svc!.confirmHeld(t), heldCount: () => svc!.held?.names().length ?? 0,
  });
  svc = new CaptureService({ board, device, outboxDir: outbox, log, technologistProvider: sessions.technologist, withoutTechnologist, procedures });
  await svc.start();
  await sessions.start();
  const seen = new Set<string>();
  const trust = parseCertificates(new TextEncoder().encode(trustPem));
  return {
    svc, sessions, outbox, logs,
    ask: (req) => sessionRequest(sessions.socketPath, req),
    expose: async (serial) => {
      const rep = await runSimulator(board, { frames: 1, startSerial: serial - 1, port: `127.0.0.1:${svc!.connector.boundPort}` });
      assert.equal(rep.framesAcked, 1, `frame ${serial} ACKed`);
    },
    cosigners: () => {
      const fresh = readdirSync(join(outbox, 'ready')).sort().filter((f) => !seen.has(f));
      return fresh.map((f) => {
        seen.add(f);
        const r = verifyObject(f, new Uint8Array(readFileSync(join(outbox, 'ready', f))), trust);
        assert.equal(r.verdict, 'authentic', `${f}: ${r.reasons.join('; ')}`);
        return r.technologist?.accepted ? `${r.technologist.signer} ${r.technologist.operatorsName}` : null;
      });
    },
  };
}

const sessionLog = (s: Station) => readFileSync(s.sessions.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; operatorId: string; reason?: string });

test('login with a PIN file key and with a SoftHSM token: each object is co-signed by whoever is logged in; logout; a refused PIN is logged and opens no session', async (t) => {
  const s = await station('outbox-a', 'device-only', 60_000);
  t.after(async () => { await s.sessions.stop(); await s.svc.stop(); });
  await s.expose(1);
  assert.deepEqual(s.cosigners(), [null], 'nobody logged in: device-only');

  const login = await s.ask({ op: 'login', operatorId: 'T100', pin: FILE_PIN });
  assert.ok(login.ok && login.session?.operatorId === 'T100', JSON.stringify(login));
  await s.expose(2);
  assert.deepEqual(s.cosigners(), ['T100 T100'], "T100 co-signs (a keygen certificate carries no person name: Operators' Name is the id)");

  const refused = await s.ask({ op: 'login', operatorId: 'T200', pin: WRONG_PIN });
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.error : '', /login of T200 refused: wrong PIN/);
  const unknown = await s.ask({ op: 'login', operatorId: 'T999', pin: FILE_PIN });
  assert.match(!unknown.ok ? unknown.error : '', /no technologist "T999" is enrolled/);
  const traversal = await s.ask({ op: 'login', operatorId: '..', pin: FILE_PIN });
  assert.equal(traversal.ok, false);
  const still = await s.ask({ op: 'status' });
  assert.equal(still.ok && still.session?.operatorId, 'T100', 'a refused login leaves the session as it was');

  const token = await s.ask({ op: 'login', operatorId: 'T200', pin: TOKEN_PIN });
  assert.ok(token.ok && token.session?.operatorId === 'T200' && token.session.operatorsName === 'Roe^Ann', JSON.stringify(token));
  await s.expose(3);
  await s.expose(4);
  assert.deepEqual(s.cosigners(), ['T200 Roe^Ann', 'T200 Roe^Ann'], 'the token key co-signs; the name comes from the certificate');

  // The token is logged in for T200 now: a second login on it must still check the PIN (PKCS#11
  // answers CKR_USER_ALREADY_LOGGED_IN to any PIN while a session of this process is logged in).
  const relogin = await s.ask({ op: 'login', operatorId: 'T200', pin: WRONG_PIN });
  assert.match(!relogin.ok ? relogin.error : 'accepted', /login of T200 refused: wrong PIN/);
  const gone = await s.ask({ op: 'status' });
  assert.equal(gone.ok && gone.session, null, 'the token was logged out to check the PIN: nobody is logged in');
  assert.ok((await s.ask({ op: 'login', operatorId: 'T200', pin: TOKEN_PIN })).ok);
  const out = await s.ask({ op: 'logout' });
  assert.equal(out.ok && out.operatorId, 'T200');
  await s.expose(5);
  assert.deepEqual(s.cosigners(), [null], 'after logout: device-only again');
  const again = await s.ask({ op: 'logout' });
  assert.match(!again.ok ? again.error : '', /nobody is logged in/);

  assert.deepEqual(sessionLog(s).map((e) => `${e.event} ${e.operatorId}${e.reason ? ` (${e.reason})` : ''}`), [
    'login T100', 'refused T200 (PIN refused)', 'refused T999 (no technologist "T999" is enrolled at this station)',
    'logout T100 (another technologist logged in)', 'login T200',
    'logout T200 (a new login on the same token)', 'refused T200 (PIN refused)', 'login T200', 'logout T200 (logout)',
  ]);
  assert.ok(s.logs.some((l) => /session: login of T200 refused: PIN refused/.test(l)), 'the capture log says so too');
  const everything = s.logs.join('\n') + readFileSync(s.sessions.logPath, 'utf8');
  for (const secret of SECRETS) assert.ok(!everything.includes(secret), 'a PIN reached a log');
  const mode = (p: string) => (run('stat', ['-c', '%a', p]).stdout.trim());
  assert.equal(mode(s.sessions.socketPath), '600');
  assert.equal(mode(join(s.outbox, 'session')), '700');
});

test('idle timeout ends the session (logged); with the hold policy exposures wait, resends are duplicates, and confirm seals them co-signed by the confirming technologist', async (t) => {
  const s = await station('outbox-b', 'hold', 2500);
  t.after(async () => { await s.sessions.stop(); await s.svc.stop(); });
  assert.ok((await s.ask({ op: 'login', operatorId: 'T100', pin: FILE_PIN })).ok);
  await new Promise((r) => setTimeout(r, 2800));
  const status = await s.ask({ op: 'status' });
  assert.equal(status.ok && status.session, null, 'logged out by the idle timeout');
  assert.deepEqual(sessionLog(s).map((e) => `${e.event} ${e.operatorId}`), ['login T100', 'timeout T100']);
  assert.ok(s.logs.some((l) => /session: T100 logged out after 2\.5 s without activity/.test(l)), s.logs.join('\n'));

  await s.expose(11);
  await s.expose(12);
  assert.deepEqual(readdirSync(join(s.outbox, 'ready')), [], 'nothing sealed or queued while nobody is logged in');
  assert.equal(s.svc.held!.names().length, 2);
  // The device resends both (it lost the ACKs, say): recognised as held, ACKed as duplicates.
  const resent = await runSimulator(testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-SESS-1', rows: 64, cols: 64, bitsStored: 12 } }),
    { frames: 2, startSerial: 10, port: `127.0.0.1:${s.svc.connector.boundPort}` });
  assert.equal(resent.duplicatesAcked, 2);

  const early = await s.ask({ op: 'confirm' });
  assert.match(!early.ok ? early.error : '', /nobody is logged in/);
  assert.ok((await s.ask({ op: 'login', operatorId: 'T200', pin: TOKEN_PIN })).ok);
  const confirmed = await s.ask({ op: 'confirm' });
  assert.ok(confirmed.ok && confirmed.confirmed === 2 && confirmed.held === 0, JSON.stringify(confirmed));
  assert.deepEqual(s.cosigners(), ['T200 Roe^Ann', 'T200 Roe^Ann']);
  assert.deepEqual(sessionLog(s).map((e) => `${e.event} ${e.operatorId}`).slice(2), ['login T200', 'confirm T200']);
  // Logged in: the next exposure is sealed at once, co-signed.
  await s.expose(13);
  assert.deepEqual(s.cosigners(), ['T200 Roe^Ann']);
});

test('a held record changed on disk is refused at confirm, never sealed', async (t) => {
  const s = await station('outbox-c', 'hold', 60_000);
  t.after(async () => { await s.sessions.stop(); await s.svc.stop(); });
  await s.expose(21);
  const [name] = s.svc.held!.names();
  const path = join(s.svc.held!.dir, name!);
  const bytes = readFileSync(path);
  bytes[bytes.length - 100]! ^= 1; // one pixel bit
  writeFileSync(path, bytes);
  assert.ok((await s.ask({ op: 'login', operatorId: 'T100', pin: FILE_PIN })).ok);
  const r = await s.ask({ op: 'confirm' });
  assert.ok(r.ok && r.confirmed === 0 && r.held === 1, JSON.stringify(r));
  assert.ok(s.logs.some((l) => /held exposure not sealed: .*device signature does not match/.test(l)), s.logs.join('\n'));
  assert.deepEqual(readdirSync(join(s.outbox, 'ready')), []);
});

test('on a worklist station with no procedure selected, a held exposure confirmed by a technologist waits unassigned, never in the send queue', async (t) => {
  const outboxDir = join(dir, 'outbox-w');
  // Nothing is selected, so the RIS is never asked: a worklist target nobody listens on will do.
  const desk = new ProcedureDesk(outboxDir, { worklist: { calledAe: 'RIS', host: '127.0.0.1', port: 9 }, stationAe: 'DXROOM3', device });
  const s = await station('outbox-w', 'hold', 60_000, desk);
  t.after(async () => { await s.sessions.stop(); await s.svc.stop(); });
  await s.expose(31);
  assert.ok((await s.ask({ op: 'login', operatorId: 'T100', pin: FILE_PIN })).ok);
  const r = await s.ask({ op: 'confirm' });
  assert.ok(r.ok && r.confirmed === 1, JSON.stringify(r));
  assert.deepEqual(readdirSync(join(s.outbox, 'ready')), [], 'not forwarded without a procedure');
  assert.equal(desk.heldCount(), 1, 'held unassigned, co-signed, until radseal worklist assign');
});

test("a technologist key on the device's token is refused: the device's login would let any PIN through", async (t) => {
  const sessions = new SessionEndpoint({
    outboxDir: join(dir, 'outbox-t'), technologistsDir: techDir, idleTimeoutMs: 60_000, withoutTechnologist: 'device-only', refusalDelayMs: 10,
    deviceToken: { module: SOFTHSM_MODULE, token: TOKEN },
  });
  await sessions.start();
  t.after(() => sessions.stop());
  const r = await sessionRequest(sessions.socketPath, { op: 'login', operatorId: 'T200', pin: TOKEN_PIN });
  assert.match(!r.ok ? r.error : 'accepted', /T200's key is on the device's token/);
  assert.ok((await sessionRequest(sessions.socketPath, { op: 'login', operatorId: 'T100', pin: FILE_PIN })).ok, 'a key file is fine');
});

test('CLI: radseal tech login reads the PIN from stdin (not a terminal), status --json, logout; a wrong PIN exits 2 without echoing it', { skip: radsealBuilt() }, async (t) => {
  const s = await station('outbox-d', 'device-only', 60_000);
  t.after(async () => { await s.sessions.stop(); await s.svc.stop(); });
  const outputs: string[] = [];
  // Asynchronously: this process serves the session socket the child talks to.
  const cli = async (input: string, ...args: string[]): Promise<Run> => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'radseal.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input);
    const code = await new Promise<number>((res) => child.once('exit', (c) => res(c ?? -1)));
    outputs.push(stdout, stderr);
    return { code, stdout, stderr };
  };
  const login = await cli(`${FILE_PIN}\n`, 'tech', 'login', '--outbox', s.outbox, '--id', 'T100');
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /logged in: T100/);
  const status = await cli('', 'tech', 'status', '--outbox', s.outbox, '--json');
  assert.equal(JSON.parse(status.stdout).session.operatorId, 'T100');
  const bad = await cli(`${WRONG_PIN}\n`, 'tech', 'login', '--outbox', s.outbox, '--id', 'T100');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /login of T100 refused: wrong PIN/);
  const out = await cli('', 'tech', 'logout', '--outbox', s.outbox);
  assert.match(out.stdout, /logged out: T100/);
  for (const secret of SECRETS) assert.ok(!outputs.join('\n').includes(secret), 'a PIN appeared in CLI output');
});

function radsealBuilt(): false | string {
  return existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js')) ? false : 'dist/ missing: run npx tsc -p tsconfig.json first';
}

test('CLI at a terminal: tech login prompts for the PIN with echo off (a real pty), and logs in', { skip: radsealBuilt() }, async (t) => {
  const s = await station('outbox-e', 'device-only', 60_000);
  t.after(async () => { await s.sessions.stop(); await s.svc.stop(); });
  // Python's pty module plays the terminal: wait for the prompt, type the PIN and Enter, read everything shown.
  const script = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:3] + ['tech', 'login', '--outbox', sys.argv[3], '--id', 'T100'])
out = b''
while b'PIN:' not in out:
    out += os.read(fd, 1024)
os.write(fd, sys.argv[4].encode() + b'\\r')
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
  const child = spawn(PYTHON, ['-c', script, process.execPath, join(ROOT, 'bin', 'radseal.js'), s.outbox, FILE_PIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  let shown = '';
  child.stdout.on('data', (d) => (shown += d));
  child.stderr.on('data', (d) => (shown += d));
  const code = await new Promise<number>((res) => child.once('exit', (c) => res(c ?? -1)));
  assert.equal(code, 0, shown);
  assert.match(shown, /PIN: /);
  assert.match(shown, /logged in: T100/);
  assert.ok(!shown.includes(FILE_PIN), `the PIN was echoed: ${shown}`);
  const status = await s.ask({ op: 'status' });
  assert.equal(status.ok && status.session?.operatorId, 'T100');
});
