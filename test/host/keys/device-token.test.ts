// Device keys on a real PKCS#11 token (Debian SoftHSM 2.6.1 in a temp
// SOFTHSM2_CONF folder): `pki issue-device --pkcs11-module` generates the key
// on the token and writes only the certificate; the built CLI seals with it
// (`seal --key pkcs11:… --pin-env`) and captures with it over a socat pty from
// the simulator, with a board whose keys.store is "pkcs11" supplying module and
// token label; verify says authentic against the site trust bundle. Wrong PIN,
// a missing token and a key file on a pkcs11 board fail with a clear message,
// exit 2, and no PIN anywhere in the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLines, radseal, run, tempDir, ROOT, type Run } from '../support/run.js';
import { SOFTHSM_MODULE, useSoftHsm } from '../support/softhsm.js';
import { openPkcs11Signer, parsePkcs11Uri } from '../../../host/keys/pkcs11.js';
import { parseCertificate } from '../../../host/keys/certs.js';
import { readCertificateDer } from '../../../host/keys/provision.js';
import { profileOf } from '../../../host/keys/pki/profiles.js';
import { testBoard } from '../link/harness.js';

const MODULE = SOFTHSM_MODULE;
const dir = tempDir('radseal-devtoken-');
const TOKEN = 'DX Room 4';
const PIN = '48213-dev-pin';
const BAD_PIN = '99999-wrong';
const CA_PIN = 'ca-pin-devtoken';
const SO_PIN = '22222222';
useSoftHsm(dir); // before anything loads the PKCS#11 module
process.env.RADSEAL_DT_PIN = PIN;
process.env.RADSEAL_DT_BAD_PIN = BAD_PIN;
process.env.RADSEAL_DT_CA_PIN = CA_PIN;

const ca = join(dir, 'ca');
const devDir = join(dir, 'dev');
const trust = join(dir, 'trust.pem');
const DEVICE = 'DX-TOK-4';
const LABEL = `device-${DEVICE}`;
const uri = `pkcs11:token=${encodeURIComponent(TOKEN)};object=${LABEL}?module-path=${MODULE}`;
const outputs: string[] = [];
const cli = (...args: string[]): Run => {
  const r = radseal(...args);
  outputs.push(r.stdout, r.stderr);
  return r;
};
const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
const refused = (r: Run, re: RegExp, what: string) => {
  assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  assert.match(r.stderr, re, what);
};

test('pki issue-device --pkcs11-module: key generated on the token, only device.crt written (device profile); the URI is printed', () => {
  const init = run('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', SO_PIN]);
  assert.equal(init.code, 0, init.stderr);
  ok(cli('pki', 'init', '--site', 'Token Device Site', '--out', ca, '--ca-pin-env', 'RADSEAL_DT_CA_PIN'), 'init');
  // The PIN is only ever taken from the environment, and a token needs one.
  refused(cli('pki', 'issue-device', '--ca', ca, '--id', DEVICE, '--out', devDir, '--ca-pin-env', 'RADSEAL_DT_CA_PIN', '--pkcs11-module', MODULE, '--token', TOKEN),
    /--pkcs11-module needs --pin-env VAR/, 'token without --pin-env');
  refused(cli('pki', 'issue-device', '--ca', ca, '--id', DEVICE, '--out', devDir, '--ca-pin-env', 'RADSEAL_DT_CA_PIN', '--pkcs11-module', MODULE, '--token', TOKEN,
    '--pin-env', 'RADSEAL_DT_BAD_PIN'), /cannot log in to token "DX Room 4" \(CKR_PIN_INCORRECT\)/, 'issue with a wrong PIN');
  assert.ok(!existsSync(join(devDir, 'device.crt')), 'nothing issued on a failed login');

  const r = cli('pki', 'issue-device', '--ca', ca, '--id', DEVICE, '--out', devDir, '--ca-pin-env', 'RADSEAL_DT_CA_PIN',
    '--pkcs11-module', MODULE, '--token', TOKEN, '--pin-env', 'RADSEAL_DT_PIN');
  ok(r, 'issue-device on token');
  assert.match(r.stdout, /key "device-DX-TOK-4" generated on token "DX Room 4"; no key file/);
  assert.ok(r.stdout.includes(`key URI: ${uri}`), r.stdout);
  assert.deepEqual(readdirSync(devDir), ['device.crt'], 'no key file: the key lives on the token');
  const cert = parseCertificate(readCertificateDer(join(devDir, 'device.crt')));
  assert.equal(cert.commonName, DEVICE);
  assert.equal(profileOf(cert).kind, 'device', 'same device profile as a file key');
  const signer = openPkcs11Signer(parsePkcs11Uri(uri), PIN);
  assert.deepEqual(Buffer.from(cert.ed25519PublicKey!), Buffer.from(signer.publicKey), 'the certificate names the token key');
  signer.close();
  const list = cli('pki', 'list', '--ca', ca);
  assert.match(list.stdout, /device\s+DX-TOK-4\s+Ed25519\s+pkcs11/);
  // A second key under the same label, and --ecdsa (a key file) with a token key, are refused.
  refused(cli('pki', 'issue-device', '--ca', ca, '--id', DEVICE, '--out', join(dir, 'dev2'), '--ca-pin-env', 'RADSEAL_DT_CA_PIN',
    '--pkcs11-module', MODULE, '--token', TOKEN, '--pin-env', 'RADSEAL_DT_PIN'), /already holds a key labelled "device-DX-TOK-4"/, 'duplicate label');
  refused(cli('pki', 'issue-device', '--ca', ca, '--id', 'DX-TOK-5', '--out', join(dir, 'dev5'), '--ca-pin-env', 'RADSEAL_DT_CA_PIN', '--ecdsa',
    '--pkcs11-module', MODULE, '--token', TOKEN, '--pin-env', 'RADSEAL_DT_PIN'), /no ECDSA key file/, '--ecdsa with a token');
  ok(cli('pki', 'bundle', '--ca', ca, '--out', trust, '--ca-pin-env', 'RADSEAL_DT_CA_PIN'), 'bundle');
});

test('pki issue-pacs --pkcs11-module: the PACS signer key is generated on the token like a device key; only pacs.crt, with the PACS signer profile', () => {
  const pacsDir = join(dir, 'pacs');
  const r = cli('pki', 'issue-pacs', '--ca', ca, '--id', 'PACS-TOK', '--out', pacsDir, '--ca-pin-env', 'RADSEAL_DT_CA_PIN',
    '--pkcs11-module', MODULE, '--token', TOKEN, '--pin-env', 'RADSEAL_DT_PIN');
  ok(r, 'issue-pacs on token');
  const pacsUri = `pkcs11:token=${encodeURIComponent(TOKEN)};object=pacs-PACS-TOK?module-path=${MODULE}`;
  assert.ok(r.stdout.includes(`key URI: ${pacsUri}`), r.stdout);
  assert.deepEqual(readdirSync(pacsDir), ['pacs.crt']);
  const cert = parseCertificate(readCertificateDer(join(pacsDir, 'pacs.crt')));
  assert.equal(profileOf(cert).kind, 'pacs');
  const signer = openPkcs11Signer(parsePkcs11Uri(pacsUri), PIN);
  assert.deepEqual(Buffer.from(cert.ed25519PublicKey!), Buffer.from(signer.publicKey), 'the certificate names the token key');
  signer.close();
  assert.match(cli('pki', 'list', '--ca', ca).stdout, /pacs\s+PACS-TOK\s+Ed25519\s+pkcs11/);
  refused(cli('pki', 'issue-pacs', '--ca', ca, '--id', 'PACS-TOK2', '--out', join(dir, 'pacs2'), '--ca-pin-env', 'RADSEAL_DT_CA_PIN',
    '--pkcs11-module', MODULE, '--token', TOKEN), /--pkcs11-module needs --pin-env VAR/, 'token without --pin-env');
});

test('seal --key pkcs11:… --pin-env: the token signs as the device; verify is authentic against the site bundle; wrong PIN, missing token, wrong certificate fail with exit 2', () => {
  const px = new Uint16Array(48 * 40).map((_, i) => (i * 7) & 0xfff);
  writeFileSync(join(dir, 'f.raw'), new Uint8Array(px.buffer));
  const sealArgs = (out: string, key = uri, ...extra: string[]) => ['seal', '--key', key, '--cert', join(devDir, 'device.crt'), '--in', join(dir, 'f.raw'),
    '--rows', '48', '--cols', '40', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', join(dir, out), ...extra];
  const s = cli(...sealArgs('tok.dcm', uri, '--pin-env', 'RADSEAL_DT_PIN'));
  ok(s, 'seal with the token key');
  assert.match(s.stdout, /device DX-TOK-4 \(key on token\)/);
  const v = cli('verify', join(dir, 'tok.dcm'), '--trust', trust, '--json');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const rep = JSON.parse(v.stdout);
  assert.equal(rep.verdict, 'authentic', JSON.stringify(rep.reasons));
  assert.equal(rep.capture.deviceId, DEVICE);
  assert.ok(rep.signatures.length >= 1 && rep.signatures.every((g: { signer: string; valid: boolean; trusted: boolean }) => g.signer === DEVICE && g.valid && g.trusted), JSON.stringify(rep.signatures));

  refused(cli(...sealArgs('nopin.dcm')), /a pkcs11: --key needs --pin-env VAR/, 'token key without --pin-env');
  refused(cli(...sealArgs('unset.dcm', uri, '--pin-env', 'RADSEAL_DT_UNSET_VAR')), /environment variable RADSEAL_DT_UNSET_VAR \(the key PIN\) is not set/, 'unset PIN variable');
  refused(cli(...sealArgs('bad.dcm', uri, '--pin-env', 'RADSEAL_DT_BAD_PIN')), /cannot log in to token "DX Room 4" \(CKR_PIN_INCORRECT\)/, 'wrong PIN');
  refused(cli(...sealArgs('none.dcm', uri.replace('DX%20Room%204', 'DX%20Room%209'), '--pin-env', 'RADSEAL_DT_PIN')), /no token labelled "DX Room 9"/, 'missing token');
  refused(cli(...sealArgs('nokey.dcm', uri.replace(LABEL, 'device-NOPE'), '--pin-env', 'RADSEAL_DT_PIN')), /no private key labelled "device-NOPE" on token "DX Room 4"/, 'missing key');
  refused(cli(...sealArgs('uri-pin.dcm', `${uri}&pin-value=${PIN}`, '--pin-env', 'RADSEAL_DT_PIN')), /carries a PIN \(pin-value\)/, 'PIN in the URI');
  // The token key must be the certificate's: a different device's certificate is refused before anything is signed.
  ok(cli('pki', 'issue-device', '--ca', ca, '--id', 'DX-FILE-1', '--out', join(dir, 'filedev'), '--ca-pin-env', 'RADSEAL_DT_CA_PIN'), 'file device');
  const wrongCert = sealArgs('wc.dcm', uri, '--pin-env', 'RADSEAL_DT_PIN').map((a) => (a === join(devDir, 'device.crt') ? join(dir, 'filedev', 'device.crt') : a));
  refused(cli(...wrongCert), /key "device-DX-TOK-4" on token "DX Room 4" does not belong to the certificate .*\(DX-FILE-1\)/, 'token key vs another certificate');
  for (const f of ['nopin', 'unset', 'bad', 'none', 'nokey', 'uri-pin', 'wc']) assert.ok(!existsSync(join(dir, `${f}.dcm`)), `${f}.dcm must not be written`);
});

interface Child {
  proc: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
}
function spawnCli(args: string[], children: ChildProcess[]): Child {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'radseal.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { proc, done: new Promise((res) => proc.once('exit', (code) => { outputs.push(out); res({ code, out }); })) };
}

test('capture with a keys.store "pkcs11" board over a socat pty: module and token label from the board, frames sealed by the token key and authentic; a key file, a wrong PIN, a missing token: exit 2', { timeout: 90_000 }, async () => {
  const FRAMES = 2;
  // The board's data, not its name, selects the token: keys.pkcs11Module and keys.slotLabel.
  const board = testBoard('sim-pty', {
    id: 'pty-token',
    link: { serial: { path: join(dir, 'host'), devicePath: join(dir, 'devpty'), baudRate: 3000000 } },
    detector: { deviceId: DEVICE, rows: 256, cols: 256, bitsStored: 14 },
    keys: { store: 'pkcs11', pkcs11Module: MODULE, slotLabel: TOKEN },
  });
  const boardFile = join(dir, 'pty-token.json');
  writeFileSync(boardFile, JSON.stringify(board));
  const cert = join(devDir, 'device.crt');
  const outbox = join(dir, 'outbox');
  const shortUri = `pkcs11:object=${LABEL}`;

  // Refusals first: each exits before opening the link.
  const fileKey = cli('capture', '--board', boardFile, '--key', join(dir, 'filedev', 'device.key'), '--cert', join(dir, 'filedev', 'device.crt'), '--outbox', outbox);
  refused(fileKey, /board pty-token sets keys\.store "pkcs11": the device key must stay on the token, so --key must be a PKCS#11 URI .*token "DX Room 4" from keys\.slotLabel/, 'key file on a pkcs11 board');
  refused(cli('capture', '--board', boardFile, '--key', shortUri, '--pin-env', 'RADSEAL_DT_BAD_PIN', '--cert', cert, '--outbox', outbox),
    /cannot log in to token "DX Room 4" \(CKR_PIN_INCORRECT\)/, 'capture with a wrong PIN');
  const otherToken = join(dir, 'other-token.json');
  writeFileSync(otherToken, JSON.stringify({ ...board, keys: { ...board.keys, slotLabel: 'Absent Token' } }));
  refused(cli('capture', '--board', otherToken, '--key', shortUri, '--pin-env', 'RADSEAL_DT_PIN', '--cert', cert, '--outbox', outbox),
    /no token labelled "Absent Token"/, 'capture with a board naming a missing token');
  refused(cli('capture', '--board', boardFile, '--key', shortUri, '--cert', cert, '--outbox', outbox), /a pkcs11: --key needs --pin-env VAR/, 'capture without --pin-env');
  assert.ok(!existsSync(join(outbox, 'ready')) || readdirSync(join(outbox, 'ready')).length === 0);

  const children: ChildProcess[] = [];
  try {
    const capture = spawnCli(['capture', '--board', boardFile, '--key', shortUri, '--pin-env', 'RADSEAL_DT_PIN', '--cert', cert, '--outbox', outbox, '--status-every', '3600', '--patient-orientation', 'L\\F'], children);
    const sim = await spawnCli(['sim', '--board', boardFile, '--frames', String(FRAMES), '--start-serial', '7100', '--quiet'], children).done;
    assert.equal(sim.code, 0, sim.out);
    assert.match(sim.out, new RegExp(`sim: ${FRAMES}/${FRAMES} frames ACKed \\(0 as duplicates\\), 0 failed`));
    capture.proc.kill('SIGTERM');
    const cap = await capture.done;
    assert.equal(cap.code, 0, cap.out);
    assert.match(cap.out, /device DX-TOK-4 \(key on token\)/);
    assert.match(cap.out, new RegExp(`sealed ${FRAMES}, forwarded 0, retried 0, rejected 0`), cap.out);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  }
  const files = readdirSync(join(outbox, 'ready')).sort().map((f) => join(outbox, 'ready', f));
  assert.equal(files.length, FRAMES);
  const ver = cli('verify', '--trust', trust, '--json', ...files);
  assert.equal(ver.code, 0, ver.stdout + ver.stderr);
  const reports = jsonLines<{ verdict: string; capture: { deviceId: string } }>(ver.stdout);
  assert.equal(reports.length, files.length);
  for (const r of reports) {
    assert.equal(r.verdict, 'authentic');
    assert.equal(r.capture.deviceId, DEVICE);
  }
});

test('no PIN appears in any output, and none in the CA state', () => {
  const all = outputs.join('\n');
  for (const secret of [PIN, BAD_PIN, CA_PIN, SO_PIN]) assert.ok(!all.includes(secret), 'a PIN appeared in CLI output');
  assert.ok(!readFileSync(join(ca, 'ca.json'), 'utf8').includes(PIN));
});
