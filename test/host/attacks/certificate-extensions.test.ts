// Certificates a verifier must not rely on, though every signature in them checks out: a
// critical extension radseal does not process (RFC 5280 4.2), in the device's certificate or in
// its CA's; a device certificate its CA signed with MD5 or SHA-1 (RSA or ECDSA), which OpenSSL
// and node:crypto still verify; a CA carrying name constraints, which radseal does not evaluate.
// Every object is sealed correctly by a device whose certificate OpenSSL issued from a CA made
// here, with that CA and its CRL as the trust bundle; the same extensions non-critical, and a CA
// whose own self-signature is SHA-1 (trusted because it is pinned), stay authentic.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { sealTo, testFrame, run } from '../dicom/fixtures.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { EKU_DEVICE } from '../../../host/keys/pki/profiles.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { expectVerdict, type Report } from './support.js';

const dir = tempDir('radseal-attack-extensions-');
const PRIVATE_OID = '1.3.6.1.4.1.99999.7.1';
const DEVICE_EXT = [
  'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', `extendedKeyUsage=${EKU_DEVICE}`,
  'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid',
];
const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'];

function openssl(args: string[], cwd = dir): string {
  const r = run('openssl', args, { cwd });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A config file with one section `[ext]` of the given lines (plus `[dn]` for directory names in name constraints). */
function extFile(name: string, lines: string[]): string {
  const path = join(dir, `${name}.cnf`);
  writeFileSync(path, `[ext]\n${lines.join('\n')}\n[dn]\nO=Attack Site\nCN=DX-ROOM-3\n`);
  return path;
}

interface Ca { name: string; kind: 'rsa' | 'ec'; key: string; cert: string; }

/** A self-signed CA (RSA-2048 or EC P-256) with CA_EXT plus `extra`, its own signature made with `md`. */
function makeCa(name: string, kind: 'rsa' | 'ec', extra: string[] = [], md = 'sha256'): Ca {
  const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
  openssl(['genpkey', ...(kind === 'rsa' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']), '-out', key]);
  openssl(['req', '-new', '-x509', '-key', key, '-out', cert, '-subj', `/O=Attack Site/CN=${name}`, '-days', '30', `-${md}`,
    '-config', extFile(`${name}-ca`, CA_EXT.concat(extra)), '-extensions', 'ext']);
  return { name, kind, key, cert };
}

/**
 * The trust bundle for `ca`: its certificate and a CRL it signed with `md` revoking `revoke` (none by
 * default), so the CRL is required.
 */
function bundleOf(ca: Ca, { revoke = [] as string[], md = 'sha256', tag = '' } = {}): string {
  const name = `${ca.name}${tag}`;
  const bundle = join(dir, `${name}-trust.pem`);
  const db = join(dir, `${name}-index.txt`);
  writeFileSync(db, '');
  const cnf = join(dir, `${name}-crl.cnf`);
  writeFileSync(cnf, `[ca]\ndefault_ca=d\n[d]\ndatabase=${db}\ndefault_md=${md}\ndefault_crl_days=30\ncrlnumber=${join(dir, `${name}-crlnumber`)}\n`);
  writeFileSync(join(dir, `${name}-crlnumber`), '01\n');
  for (const cert of revoke) openssl(['ca', '-config', cnf, '-keyfile', ca.key, '-cert', ca.cert, '-revoke', cert, '-crl_reason', 'keyCompromise']);
  const crl = join(dir, `${name}.crl`);
  openssl(['ca', '-gencrl', '-config', cnf, '-keyfile', ca.key, '-cert', ca.cert, '-out', crl]);
  writeFileSync(bundle, readFileSync(ca.cert, 'utf8') + readFileSync(crl, 'utf8'));
  return bundle;
}

let deviceKey: string, deviceCsr: string;
before(() => {
  deviceKey = join(dir, 'device.key');
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', deviceKey]);
  chmodSync(deviceKey, 0o600);
  deviceCsr = join(dir, 'device.csr');
  openssl(['req', '-new', '-key', deviceKey, '-subj', '/O=Attack Site/CN=DX-ROOM-3', '-out', deviceCsr]);
});

/** The device certificate `ca` issues over the device key, signed with `md`, with DEVICE_EXT plus `extra`. */
function issueDevice(ca: Ca, name: string, extra: string[] = [], md = 'sha256'): string {
  const cert = join(dir, `${name}.crt`);
  openssl(['x509', '-req', '-in', deviceCsr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '30', `-${md}`,
    '-extfile', extFile(name, DEVICE_EXT.concat(extra)), '-extensions', 'ext', '-out', cert]);
  return cert;
}

async function sealAndVerify(name: string, cert: string, trustPem: string): Promise<Report> {
  const file = join(dir, `${name}.dcm`);
  await sealTo(file, testFrame(64, 64), loadDeviceIdentity(deviceKey, cert));
  return verifyAgain(file, trustPem);
}

/** The library verdict on a file, with the trust bundle's CRL required when it has one. */
async function verifyAgain(file: string, trustPem: string): Promise<Report> {
  const bytes = new Uint8Array(readFileSync(file));
  const trust = parseCertificates(readFileSync(trustPem));
  if (!trust.crls) trust.revocation = { requireCrl: false };
  try {
    return verifyObject(file, bytes, trust);
  } catch (err) {
    assert.fail(`verify threw instead of giving a verdict: ${(err as Error).stack}`);
  }
}

/** Authentic, with every signature trusted (the device's certificate chain held). */
function expectAuthentic(r: Report): void {
  assert.equal(r.verdict, 'authentic', `${r.verdict}: ${r.reasons.join(' | ')}`);
  assert.ok(r.signatures.length > 0 && r.signatures.every((s) => s.trusted), JSON.stringify(r.signatures));
}

const signatureAlgorithm = (cert: string) => /Signature Algorithm: (\S+)/.exec(openssl(['x509', '-in', cert, '-noout', '-text']))![1];

test('controls: a device certificate from an RSA and from an EC CA, private extensions non-critical, SHA-256: authentic', async () => {
  const rsa = makeCa('rsa-ca', 'rsa', [`${PRIVATE_OID}=ASN1:UTF8String:site data`]);
  const ec = makeCa('ec-ca', 'ec');
  for (const [ca, bundle] of [[rsa, bundleOf(rsa)], [ec, bundleOf(ec)]] as const) {
    const cert = issueDevice(ca, `${ca.name}-plain`, [`${PRIVATE_OID}=ASN1:UTF8String:device data`]);
    expectAuthentic(await sealAndVerify(`${ca.name}-plain`, cert, bundle));
  }
});

test('a device certificate with a private extension marked critical: not authentic, the extension named', async () => {
  const ca = makeCa('crit-leaf-ca', 'ec');
  const cert = issueDevice(ca, 'crit-leaf', [`${PRIVATE_OID}=critical,ASN1:UTF8String:only we understand this`]);
  const r = await sealAndVerify('crit-leaf', cert, bundleOf(ca));
  expectVerdict(r, 'untrusted', new RegExp(`critical extension.*${PRIVATE_OID.replace(/\./g, '\\.')}`));
});

test('a device certificate with a critical extension OpenSSL knows but radseal never evaluates (subjectAltName): not authentic', async () => {
  const ca = makeCa('crit-san-ca', 'ec');
  const cert = issueDevice(ca, 'crit-san', ['subjectAltName=critical,DNS:dx-room-3.example']);
  expectVerdict(await sealAndVerify('crit-san', cert, bundleOf(ca)), 'untrusted', /critical extension.*2\.5\.29\.17/);
});

test('a CA with a private critical extension, or a critical policy constraint: nothing it issued is trusted', async () => {
  for (const [name, extra, oid] of [['crit-ca', `${PRIVATE_OID}=critical,ASN1:UTF8String:x`, PRIVATE_OID], ['policy-ca', 'policyConstraints=critical,requireExplicitPolicy:0', '2.5.29.36']] as const) {
    const ca = makeCa(name, 'ec', [extra]);
    const r = await sealAndVerify(name, issueDevice(ca, `${name}-device`), bundleOf(ca));
    expectVerdict(r, 'untrusted', new RegExp(`certificate of ${name} has a critical extension.*${oid.replace(/\./g, '\\.')}`));
  }
});

test('a device certificate its CA signed with SHA-1 or MD5 (RSA) or ECDSA-SHA-1: not authentic, the algorithm named', async () => {
  const rsa = makeCa('weak-rsa-ca', 'rsa');
  const ec = makeCa('weak-ec-ca', 'ec');
  const rsaBundle = bundleOf(rsa), ecBundle = bundleOf(ec);
  for (const [ca, bundle, md, algorithm] of [[rsa, rsaBundle, 'sha1', 'sha1WithRSAEncryption'], [rsa, rsaBundle, 'md5', 'md5WithRSAEncryption'], [ec, ecBundle, 'sha1', 'ecdsa-with-SHA1']] as const) {
    const cert = issueDevice(ca, `${ca.name}-${md}`, [], md);
    assert.equal(signatureAlgorithm(cert), algorithm, 'OpenSSL made the weak signature asked for');
    // OpenSSL itself (security level 1 by default) still accepts the chain: the rule has to be radseal's.
    assert.match(run('openssl', ['verify', '-CAfile', ca.cert, cert]).stdout, /OK/);
    expectVerdict(await sealAndVerify(`${ca.name}-${md}`, cert, bundle), 'untrusted', new RegExp(`signed by its issuer with ${algorithm}`));
  }
});

test('a pinned CA whose own self-signature is SHA-1, issuing with SHA-256: authentic (a pinned anchor is trusted by the pin)', async () => {
  const ca = makeCa('sha1-self-ca', 'rsa', [], 'sha1');
  assert.equal(signatureAlgorithm(ca.cert), 'sha1WithRSAEncryption');
  expectAuthentic(await sealAndVerify('sha1-self', issueDevice(ca, 'sha1-self-device'), bundleOf(ca)));
});

test('a CA with name constraints that exclude, or that permit, the device name: not trusted either way (radseal does not evaluate them)', async () => {
  for (const [name, constraint, opensslSays] of [['nc-excluded-ca', 'nameConstraints=critical,excluded;dirName:dn', /violation|error/i], ['nc-permitted-ca', 'nameConstraints=critical,permitted;dirName:dn', /OK/]] as const) {
    const ca = makeCa(name, 'ec', [constraint]);
    const cert = issueDevice(ca, `${name}-device`);
    // OpenSSL evaluates them: the excluded name fails its chain check, the permitted one passes.
    const check = run('openssl', ['verify', '-CAfile', ca.cert, cert]);
    assert.match(check.stdout + check.stderr, opensslSays);
    expectVerdict(await sealAndVerify(name, cert, bundleOf(ca)), 'untrusted', new RegExp(`CA certificate ${name} carries name constraints`));
  }
});

test('a pinned self-signed device certificate with a critical private extension: not authentic (the pin does not waive RFC 5280)', async () => {
  const cert = join(dir, 'pinned-crit.crt');
  openssl(['req', '-new', '-x509', '-key', deviceKey, '-out', cert, '-subj', '/CN=DX-ROOM-3', '-days', '30',
    '-config', extFile('pinned-crit', [...DEVICE_EXT.slice(0, 4), `${PRIVATE_OID}=critical,ASN1:UTF8String:x`]), '-extensions', 'ext']);
  expectVerdict(await sealAndVerify('pinned-crit', cert, cert), 'untrusted', /critical extension/);
});

test('DCMTK agrees: a dcmsign signature by a CA-issued certificate with a critical private extension fails dcmsign\'s chain check and is not trusted by radseal; non-critical, both trust it', async () => {
  const ca = makeCa('dcmsign-ca', 'ec');
  const bundle = bundleOf(ca);
  const sealed = join(dir, 'dcmsign-base.dcm');
  await sealTo(sealed, testFrame(64, 64), loadDeviceIdentity(deviceKey, issueDevice(ca, 'dcmsign-device')));
  const key = join(dir, 'vendor.key'), csr = join(dir, 'vendor.csr');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=Some Vendor', '-out', csr]);
  const vendorCert = (critical: boolean) => join(dir, `vendor-${critical}.crt`);
  for (const critical of [true, false]) {
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '30', '-out', vendorCert(critical), '-extensions', 'ext',
      '-extfile', extFile(`vendor-${critical}`, ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', `${PRIVATE_OID}=${critical ? 'critical,' : ''}ASN1:UTF8String:x`])]);
  }
  // dcmsign refuses a certificate whose notBefore is the very second it signs in: let that second pass.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  for (const critical of [true, false]) {
    const cert = vendorCert(critical);
    const out = join(dir, `dcmsign-${critical}.dcm`);
    assert.equal(run('dcmsign', ['--sign', key, cert, '+m2', sealed, out]).status, 0);
    const dcmtk = run('dcmsign', ['--verify', '+cf', ca.cert, out]);
    // dcmsign's verdict on the last signature (#3, its own; the two Ed25519 ones DCMTK 3.6.7 cannot read).
    const dcmtkVerdict = /Signature #3 [^\n]*\n[^\n]*Signature Verification : ([^\n]*)/.exec(dcmtk.stdout + dcmtk.stderr)?.[1] ?? dcmtk.stdout + dcmtk.stderr;
    const report = await verifyAgain(out, bundle);
    const vendor = report.signatures.find((s) => s.signer === 'Some Vendor');
    assert.ok(vendor, JSON.stringify(report.signatures));
    if (critical) {
      assert.match(dcmtkVerdict, /certificate verification failed: unhandled critical extension/);
      assert.equal(vendor.trusted, false);
      assert.match(vendor.trustReason ?? '', /critical extension radseal does not process/);
    } else {
      assert.equal(dcmtkVerdict, 'OK');
      assert.equal(vendor.trusted, true, vendor.trustReason);
    }
  }
});

test('CRLs from an RSA site CA (what an existing hospital PKI signs with): read, and a revoked device is not trusted; a CRL signed with SHA-1 is refused', async () => {
  const ca = makeCa('rsa-crl-ca', 'rsa');
  const cert = issueDevice(ca, 'rsa-crl-device');
  expectAuthentic(await sealAndVerify('rsa-crl-ok', cert, bundleOf(ca)));
  const revoked = await sealAndVerify('rsa-crl-revoked', cert, bundleOf(ca, { revoke: [cert], tag: '-revoked' }));
  assert.notEqual(revoked.verdict, 'authentic');
  assert.ok(revoked.reasons.some((x) => /revoked/i.test(x)), revoked.reasons.join(' | '));
  // A CRL its CA signed with SHA-1 could be forged to un-revoke a key: the bundle is refused as a whole, as
  // for a CRL no CA of it signed (nothing verifies against a revocation list radseal cannot trust).
  const weak = bundleOf(ca, { md: 'sha1', tag: '-sha1' });
  await assert.rejects(sealAndVerify('rsa-crl-sha1', cert, weak), /revocation list #1 in the trust bundle is not signed by any CA certificate in it/);
  // The digests accepted for a certificate's signature are accepted for a CRL's, and only they.
  for (const md of ['sha224', 'sha384', 'sha512']) expectAuthentic(await sealAndVerify(`rsa-crl-${md}`, cert, bundleOf(ca, { md, tag: `-${md}` })));
  await assert.rejects(sealAndVerify('rsa-crl-md5', cert, bundleOf(ca, { md: 'md5', tag: '-md5' })), /is not signed by any CA certificate in it/);
});
