// Certified timestamps are the evidence that keeps a signature of a compromised key trusted (it
// existed before the compromise), so the TSA must be one the site trusts as such. A thief holding
// a device key whose certificate is pinned in the trust bundle (an OpenSSL or DCMTK certificate,
// no key usage extension, so OpenSSL's issuer check does not object) can issue a "TSA"
// certificate with it and certify any time. Tokens are made by OpenSSL's own `openssl ts`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, randomBytes } from 'node:crypto';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { verifyTimestamp } from '../../../host/keys/timestamp.js';

const dir = tempDir('radseal-attack-tsa-');
const signature = randomBytes(64);

const ssl = (...args: string[]) => {
  const r = run('openssl', args, { cwd: dir });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
};

/**
 * A TSA key and certificate (EKU timeStamping) issued by `issuer`, and a token over `signature` from
 * it; `md` the issuer's digest for the certificate, `ext` extension lines added to it.
 */
function tokenIssuedBy(issuer: string, { md = 'sha256', ext = '' } = {}): Uint8Array {
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${issuer}-tsa.key`, '-out', `${issuer}-tsa.csr`, '-subj', `/CN=TSA by ${issuer}`);
  writeFileSync(join(dir, 'tsa.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n${ext}`);
  ssl('x509', '-req', '-in', `${issuer}-tsa.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${issuer}-tsa.pem`, '-days', '2', '-extfile', 'tsa.ext', `-${md}`);
  writeFileSync(join(dir, `${issuer}-tsa.cnf`), `[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./${issuer}-serial\nsigner_cert = ./${issuer}-tsa.pem\ncerts = ./${issuer}-tsa.pem\nsigner_key = ./${issuer}-tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n`);
  writeFileSync(join(dir, `${issuer}-serial`), '01\n');
  ssl('ts', '-query', '-data', 'signature.bin', '-sha256', '-cert', '-out', `${issuer}.tsq`);
  ssl('ts', '-reply', '-config', `${issuer}-tsa.cnf`, '-queryfile', `${issuer}.tsq`, '-token_out', '-out', `${issuer}.tst`);
  return new Uint8Array(readFileSync(join(dir, `${issuer}.tst`)));
}

const cert = (name: string) => new X509Certificate(readFileSync(join(dir, `${name}.pem`)));

before(() => {
  writeFileSync(join(dir, 'signature.bin'), signature);
  // A device certificate as OpenSSL or DCMTK users make them: not a CA, no key usage extension.
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'device.key', '-out', 'device.pem', '-days', '30', '-subj', '/CN=DX-ROOM-3', '-addext', 'basicConstraints=critical,CA:FALSE');
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Site TSA CA');
});

test('control: a token from a TSA issued by a trusted CA is valid, with its time', () => {
  const r = verifyTimestamp(tokenIssuedBy('ca'), signature, [cert('ca')]);
  assert.equal(r.valid, true, r.problems.join('; '));
  assert.ok(r.time && Math.abs(r.time.getTime() - Date.now()) < 600_000);
});

test('a token from a "TSA" issued by a pinned device certificate (not a CA) is not trusted', () => {
  const device = cert('device');
  assert.equal(device.ca, false);
  const token = tokenIssuedBy('device');
  assert.equal(cert('device-tsa').checkIssued(device), true, 'OpenSSL itself takes the device certificate as the issuer');
  const r = verifyTimestamp(token, signature, [device]);
  assert.equal(r.valid, false);
  assert.ok(r.problems.some((p) => /the TSA \(.*TSA by device.*\) is not trusted/.test(p)), r.problems.join('; '));
});

test('a TSA certificate its trusted CA signed with SHA-1, or carrying a critical extension radseal does not process, is not relied on', () => {
  for (const [what, opts, reason] of [
    ['SHA-1', { md: 'sha1' }, /cannot be relied on: .*ecdsa-with-SHA1/],
    ['a critical private extension', { ext: '1.3.6.1.4.1.55555.1=critical,ASN1:NULL\n' }, /cannot be relied on: .*critical extension radseal does not process \(1\.3\.6\.1\.4\.1\.55555\.1\)/],
  ] as const) {
    const r = verifyTimestamp(tokenIssuedBy('ca', opts), signature, [cert('ca')]);
    assert.equal(r.valid, false, what);
    assert.ok(r.problems.some((p) => reason.test(p)), `${what}: ${r.problems.join('; ')}`);
  }
  // The same CA with SHA-256 and the extension non-critical: relied on.
  const ok = verifyTimestamp(tokenIssuedBy('ca', { ext: '1.3.6.1.4.1.55555.1=ASN1:NULL\n' }), signature, [cert('ca')]);
  assert.equal(ok.valid, true, ok.problems.join('; '));
});
