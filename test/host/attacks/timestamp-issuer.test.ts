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
function tokenIssuedBy(issuer: string, { md = 'sha256', ext = '', carry = [] as string[] } = {}): Uint8Array {
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${issuer}-tsa.key`, '-out', `${issuer}-tsa.csr`, '-subj', `/CN=TSA by ${issuer}`);
  writeFileSync(join(dir, 'tsa.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n${ext}`);
  ssl('x509', '-req', '-in', `${issuer}-tsa.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${issuer}-tsa.pem`, '-days', '2', '-extfile', 'tsa.ext', `-${md}`);
  // `carry`: CA certificates the token carries besides the TSA's own (openssl ts `certs`), as a commercial TSA sends its issuing CAs.
  writeFileSync(join(dir, `${issuer}-carried.pem`), [`${issuer}-tsa`, ...carry].map((c) => readFileSync(join(dir, `${c}.pem`), 'utf8')).join(''));
  writeFileSync(join(dir, `${issuer}-tsa.cnf`), `[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./${issuer}-serial\nsigner_cert = ./${issuer}-tsa.pem\ncerts = ./${issuer}-carried.pem\nsigner_key = ./${issuer}-tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n`);
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

/** A CA certificate `name` issued by `issuer` (extension lines `ext`), or with `dates` from openssl ca (YYYYMMDDHHMMSSZ). */
function subCa(name: string, issuer: string, { ext = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n', md = 'sha256', dates }: { ext?: string; md?: string; dates?: [string, string] } = {}): void {
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  if (!dates) {
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '10', '-extfile', `${name}.ext`, `-${md}`);
    return;
  }
  // openssl x509 (3.0) sets no start date: openssl ca does.
  writeFileSync(join(dir, `${name}-index.txt`), '');
  writeFileSync(join(dir, `${name}-ca.cnf`), `[ ca ]\ndefault_ca = c\n[ c ]\ndatabase = ./${name}-index.txt\nnew_certs_dir = .\nrand_serial = yes\npolicy = p\nunique_subject = no\ncopy_extensions = none\n[ p ]\ncommonName = supplied\n`);
  ssl('ca', '-batch', '-config', `${name}-ca.cnf`, '-cert', `${issuer}.pem`, '-keyfile', `${issuer}.key`, '-in', `${name}.csr`, '-out', `${name}.pem`, '-md', md, '-startdate', dates[0], '-enddate', dates[1], '-extfile', `${name}.ext`, '-notext');
}

const rootCa = (name: string, ext = '') => ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/CN=${name}`,
  '-addext', `basicConstraints=critical,CA:TRUE${ext}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

test('a TSA below an issuing CA the token carries: relied on when the bundle holds the root; not without the carried CA, nor with the root missing', () => {
  rootCa('public-root');
  subCa('public-tsa-ca', 'public-root');
  const carried = tokenIssuedBy('public-tsa-ca', { carry: ['public-tsa-ca'] });
  const ok = verifyTimestamp(carried, signature, [cert('public-root')]);
  assert.equal(ok.valid, true, ok.problems.join('; '));
  assert.match(ok.tsa ?? '', /TSA by public-tsa-ca/);
  // The issuing CA in the bundle instead, as before: relied on with or without the carried copy.
  assert.equal(verifyTimestamp(carried, signature, [cert('public-tsa-ca')]).valid, true);
  const bare = tokenIssuedBy('public-tsa-ca');
  assert.equal(verifyTimestamp(bare, signature, [cert('public-tsa-ca')]).valid, true);
  // Neither the carried CA nor the bundle links the TSA to the root.
  const unlinked = verifyTimestamp(bare, signature, [cert('public-root')]);
  assert.equal(unlinked.valid, false);
  assert.ok(unlinked.problems.some((p) => /TSA by public-tsa-ca.*is not trusted/.test(p)), unlinked.problems.join('; '));
  // A carried CA is a link, never trust: without its root in the bundle the token certifies nothing.
  rootCa('other-root');
  const stranger = verifyTimestamp(carried, signature, [cert('other-root'), cert('device')]);
  assert.equal(stranger.valid, false);
  assert.ok(stranger.problems.some((p) => /is not trusted/.test(p)), stranger.problems.join('; '));
});

test('a carried "CA" that is not one, is outside its validity, is signed with SHA-1, is name-constrained, or exceeds its root\'s path length: no path', () => {
  rootCa('chain-root');
  const cases: Array<[string, () => void, RegExp]> = [
    ['not a CA (CA:FALSE, as a device certificate)', () => subCa('notca', 'chain-root', { ext: 'basicConstraints=critical,CA:FALSE\n' }), /is not trusted/],
    ['a CA without keyCertSign', () => subCa('nosign', 'chain-root', { ext: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n' }), /is not trusted/],
    ['expired before the certified time', () => subCa('expired', 'chain-root', { dates: ['20200101000000Z', '20200201000000Z'] }), /is not trusted/],
    ['signed by the root with SHA-1', () => subCa('sha1ca', 'chain-root', { md: 'sha1' }), /cannot be relied on: .*SHA1/i],
    ['name-constrained', () => subCa('constrained', 'chain-root', { ext: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nnameConstraints=critical,permitted;DNS:example.org\n' }), /cannot be relied on: .*name constraints/],
  ];
  for (const [what, make, reason] of cases) {
    make();
    const name = ['notca', 'nosign', 'expired', 'sha1ca', 'constrained'][cases.findIndex((c) => c[0] === what)]!;
    const r = verifyTimestamp(tokenIssuedBy(name, { carry: [name] }), signature, [cert('chain-root')]);
    assert.equal(r.valid, false, what);
    assert.ok(r.problems.some((p) => reason.test(p)), `${what}: ${r.problems.join('; ')}`);
  }
  // Control for the dates: the same way of issuing, valid at the certified time, is relied on.
  subCa('dated', 'chain-root', { dates: ['20200101000000Z', '20991231000000Z'] });
  const dated = verifyTimestamp(tokenIssuedBy('dated', { carry: ['dated'] }), signature, [cert('chain-root')]);
  assert.equal(dated.valid, true, dated.problems.join('; '));
  // A root allowing no CA below it (pathlen:0) issued the carried CA: its TSA is not relied on.
  rootCa('short-root', ',pathlen:0');
  subCa('below-short', 'short-root');
  const r = verifyTimestamp(tokenIssuedBy('below-short', { carry: ['below-short'] }), signature, [cert('short-root')]);
  assert.equal(r.valid, false);
  assert.ok(r.problems.some((p) => /pathLenConstraint/.test(p)), r.problems.join('; '));
  // Two carried levels under a root with pathlen:1: the lower CA is one too many; under pathlen:2 it holds.
  for (const [limit, valid] of [[1, false], [2, true]] as const) {
    rootCa(`root-pl${limit}`, `,pathlen:${limit}`);
    subCa(`upper-pl${limit}`, `root-pl${limit}`);
    subCa(`lower-pl${limit}`, `upper-pl${limit}`);
    const t = verifyTimestamp(tokenIssuedBy(`lower-pl${limit}`, { carry: [`lower-pl${limit}`, `upper-pl${limit}`] }), signature, [cert(`root-pl${limit}`)]);
    assert.equal(t.valid, valid, `pathlen:${limit}: ${t.problems.join('; ')}`);
  }
});

test('a path longer than a token may carry (more than 3 CAs between the TSA and the root): not trusted', () => {
  rootCa('deep-root');
  const names = ['deep-1', 'deep-2', 'deep-3', 'deep-4'];
  names.forEach((n, i) => subCa(n, i === 0 ? 'deep-root' : names[i - 1]!));
  const three = verifyTimestamp(tokenIssuedBy('deep-3', { carry: ['deep-3', 'deep-2', 'deep-1'] }), signature, [cert('deep-root')]);
  assert.equal(three.valid, true, three.problems.join('; '));
  const four = verifyTimestamp(tokenIssuedBy('deep-4', { carry: ['deep-4', 'deep-3', 'deep-2', 'deep-1'] }), signature, [cert('deep-root')]);
  assert.equal(four.valid, false);
  assert.ok(four.problems.some((p) => /is not trusted/.test(p)), four.problems.join('; '));
});

test('a token carrying a crowd of CAs that all issue one another (one key, one name): no path, found at once', () => {
  rootCa('crowd-key');
  rootCa('crowd-anchor');
  const crowd = Array.from({ length: 60 }, (_, i) => `crowd-${i}`);
  for (const [i, name] of crowd.entries()) {
    ssl('req', '-x509', '-key', 'crowd-key.key', '-out', `${name}.pem`, '-days', '30', '-subj', '/CN=crowd-key', '-set_serial', String(1000 + i),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  }
  const token = tokenIssuedBy('crowd-key', { carry: crowd });
  const t0 = performance.now();
  const r = verifyTimestamp(token, signature, [cert('crowd-anchor'), cert('device')]);
  const ms = performance.now() - t0;
  assert.equal(r.valid, false);
  assert.ok(r.problems.some((p) => /is not trusted/.test(p)), r.problems.join('; '));
  assert.ok(ms < 3000, `path search took ${ms.toFixed(0)} ms`);
});
