// Technologist keys on a real PKCS#11 token: Debian SoftHSM 2.6.1 in a temp
// SOFTHSM2_CONF folder, through the pkcs11js addon. The key is generated on
// the token, never leaves it, signs DICOM co-signatures that verify, and the
// PIN stays out of argv, output and errors. node:crypto is the independent
// Ed25519 oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { createRequire } from 'node:module';
import { radseal, run, tempDir, type Run } from '../support/run.js';
import { SOFTHSM_MODULE, useSoftHsm } from '../support/softhsm.js';
import { TokenSession, openPkcs11Signer, parsePkcs11Uri, CKM_EDDSA } from '../../../host/keys/pkcs11.js';
import { parseCertificate } from '../../../host/keys/certs.js';
import { readCertificateDer } from '../../../host/keys/provision.js';

const MODULE = SOFTHSM_MODULE;
const dir = tempDir('radseal-pkcs11-');
const TOKEN = 'Ward 3';
const PIN = '73915-pin';
const SO_PIN = '11111111';
useSoftHsm(dir); // before anything loads the PKCS#11 module
process.env.RADSEAL_TEST_TOKEN_PIN = PIN;
process.env.RADSEAL_TEST_BAD_PIN = '00000-bad';
process.env.RADSEAL_TEST_CA_PIN_P11 = 'ca-pin-for-token-test';

const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
const ca = join(dir, 'ca');
const tech = join(dir, 'tech');
const uri = `pkcs11:token=${encodeURIComponent(TOKEN)};object=tech-T200?module-path=${MODULE}`;
const outputs: string[] = [];
const cli = (...args: string[]) => {
  const r = radseal(...args);
  outputs.push(r.stdout, r.stderr);
  return r;
};

test('SoftHSM token: softhsm2-util makes it, radseal generates an Ed25519 key on it that signs (node:crypto verifies) and cannot be read out', async () => {
  const init = run('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', SO_PIN]);
  assert.equal(init.code, 0, init.stderr);
  const s = TokenSession.open(MODULE, TOKEN, PIN);
  let pub: Uint8Array;
  try {
    pub = s.generateEd25519('probe');
    assert.throws(() => s.generateEd25519('probe'), /already holds a key labelled "probe"/);
  } finally {
    s.close();
  }
  assert.equal(pub.length, 32);
  const signer = openPkcs11Signer({ module: MODULE, token: TOKEN, keyLabel: 'probe' }, PIN);
  const msg = Buffer.from('MAC digest stand-in');
  const sig = await signer.sign(msg);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' });
  assert.equal(nodeVerify(null, msg, key, sig), true, 'node:crypto verifies the token signature');
  assert.equal(nodeVerify(null, Buffer.from('other'), key, sig), false);
  signer.close();
  // The private key is sensitive and not extractable: the token refuses to hand out CKA_VALUE.
  const { PKCS11 } = createRequire(import.meta.url)('pkcs11js');
  const lib = new PKCS11();
  lib.load(MODULE);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((x: Buffer) => lib.C_GetTokenInfo(x).label.trim() === TOKEN);
    const session = lib.C_OpenSession(slot, 0x6);
    lib.C_Login(session, 1, PIN);
    lib.C_FindObjectsInit(session, [{ type: 0x0, value: 3 }, { type: 0x3, value: 'probe' }]);
    const [priv] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    const attrs = lib.C_GetAttributeValue(session, priv, [{ type: 0x103 }, { type: 0x162 }]);
    assert.deepEqual(attrs.map((a: { value: Buffer }) => a.value[0]), [1, 0], 'CKA_SENSITIVE true, CKA_EXTRACTABLE false');
    assert.throws(() => lib.C_GetAttributeValue(session, priv, [{ type: 0x11 }]), /CKR_ATTRIBUTE_SENSITIVE/);
    const mechs: number[] = lib.C_GetMechanismList(slot);
    assert.ok(mechs.includes(CKM_EDDSA), 'the token offers CKM_EDDSA');
    lib.C_CloseSession(session);
  } finally {
    lib.C_Finalize();
  }
});

test('pki issue-technologist --pkcs11-module: key generated on the token, certificate issued; seal --tech-pkcs11 co-signs; verify accepts it', () => {
  ok(cli('pki', 'init', '--site', 'Token Site', '--out', ca, '--ca-pin-env', 'RADSEAL_TEST_CA_PIN_P11'), 'init');
  ok(cli('pki', 'issue-device', '--ca', ca, '--id', 'DX-11', '--out', join(dir, 'dev'), '--ca-pin-env', 'RADSEAL_TEST_CA_PIN_P11'), 'device');
  const r = cli('pki', 'issue-technologist', '--ca', ca, '--id', 'T200', '--name', 'Roe^Ann', '--out', tech, '--ca-pin-env', 'RADSEAL_TEST_CA_PIN_P11',
    '--pkcs11-module', MODULE, '--token', TOKEN, '--key-label', 'tech-T200', '--pin-env', 'RADSEAL_TEST_TOKEN_PIN');
  ok(r, 'issue-technologist on token');
  assert.match(r.stdout, /key "tech-T200" generated on token "Ward 3"/);
  assert.deepEqual(readdirSync(tech), ['T200.crt'], 'no key file: the key lives on the token');
  const cert = parseCertificate(readCertificateDer(join(tech, 'T200.crt')));
  const signer = openPkcs11Signer(parsePkcs11Uri(uri), PIN);
  assert.deepEqual(Buffer.from(cert.ed25519PublicKey!), Buffer.from(signer.publicKey), 'the certificate names the token key');
  signer.close();
  ok(cli('pki', 'bundle', '--ca', ca, '--out', join(dir, 'trust.pem'), '--ca-pin-env', 'RADSEAL_TEST_CA_PIN_P11'), 'bundle');

  const px = new Uint16Array(32 * 32).map((_, i) => i & 0x3ff);
  writeFileSync(join(dir, 'f.raw'), new Uint8Array(px.buffer));
  const sealArgs = (out: string, pinEnv: string) => ['seal', '--key', join(dir, 'dev', 'device.key'), '--cert', join(dir, 'dev', 'device.crt'), '--in', join(dir, 'f.raw'),
    '--rows', '32', '--cols', '32', '--bits-stored', '10', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', join(dir, out), '--tech-pkcs11', uri, '--tech-cert', join(tech, 'T200.crt'), '--tech-pin-env', pinEnv];
  ok(cli(...sealArgs('t.dcm', 'RADSEAL_TEST_TOKEN_PIN')), 'seal with the token');
  const v = cli('verify', join(dir, 't.dcm'), '--trust', join(dir, 'trust.pem'), '--require-technologist', '--json');
  assert.equal(v.code, 0, v.stdout);
  const rep = JSON.parse(v.stdout);
  assert.equal(rep.verdict, 'authentic');
  assert.deepEqual(rep.technologist, { operatorId: 'T200', operatorsName: 'Roe^Ann', signer: 'T200', accepted: true });

  // Wrong PIN: refused with the token's reason, no object written, and the PIN tried is not echoed.
  const bad = cli(...sealArgs('bad.dcm', 'RADSEAL_TEST_BAD_PIN'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cannot log in to token "Ward 3" \(CKR_PIN_INCORRECT\)/);
  assert.ok(!existsSync(join(dir, 'bad.dcm')));
  // A PIN in the URI (it would sit in argv and shell history) is refused; so is a second key under the same label.
  const inUri = cli(...sealArgs('u.dcm', 'RADSEAL_TEST_TOKEN_PIN').map((a) => (a === uri ? `${uri}&pin-value=${PIN}` : a)));
  assert.equal(inUri.code, 2);
  assert.match(inUri.stderr, /carries a PIN \(pin-value\)/);
  const dup = cli('pki', 'issue-technologist', '--ca', ca, '--id', 'T201', '--name', 'X^Y', '--out', join(dir, 't201'), '--ca-pin-env', 'RADSEAL_TEST_CA_PIN_P11',
    '--pkcs11-module', MODULE, '--token', TOKEN, '--key-label', 'tech-T200', '--pin-env', 'RADSEAL_TEST_TOKEN_PIN');
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /already holds a key labelled "tech-T200"/);
  const noToken = cli(...sealArgs('n.dcm', 'RADSEAL_TEST_TOKEN_PIN').map((a) => (a === uri ? uri.replace('Ward%203', 'Ward%209') : a)));
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /no token labelled "Ward 9"/);
  // Nothing printed in this file held a PIN.
  for (const secret of [PIN, '00000-bad', 'ca-pin-for-token-test', SO_PIN]) {
    assert.ok(!outputs.join('\n').includes(secret), 'a PIN appeared in CLI output');
  }
  assert.ok(!readFileSync(join(ca, 'ca.json'), 'utf8').includes(PIN));
});

test('a second session on a token already logged in by this process must present the same PIN', () => {
  // The token made by the first test of this file.
  const first = TokenSession.open(MODULE, TOKEN, PIN);
  try {
    assert.throws(() => TokenSession.open(MODULE, TOKEN, `${PIN}x`), /CKR_PIN_INCORRECT/);
    const second = TokenSession.open(MODULE, TOKEN, PIN);
    second.close();
    // Closing one session leaves the other logged in: the first can still make a key.
    assert.equal(first.generateEd25519('after-close').length, 32);
  } finally {
    first.close();
  }
});
