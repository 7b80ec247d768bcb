// DICOM Digital Signatures against DCMTK dcmsign 3.6.7 and an independent
// pydicom oracle: byte-exact MAC streams, the ECDSA item DCMTK verifies, and
// radseal verifying signatures DCMTK made (RSA and ECDSA, Creator profile and none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { TAGS, writeMacStream } from '../../../host/dicom/mac.js';
import { SIG, checkSignatures } from '../../../host/dicom/signatures.js';
import { decodeAT, decodeString, decodeUS } from '../../../host/dicom/values.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { tempDir, testFrame, makeIdentities, sealTo, run, opensslKey, PYTHON } from './fixtures.js';

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'oracles', 'mac_stream.py');

/** radseal's MAC stream for signature `index` of a file. */
function ourStream(path: string, index: number): Buffer {
  const { dataSet } = readPart10(readFileSync(path));
  const item = findElement(dataSet, TAGS.digitalSignaturesSequence)!.items![index]!;
  const macId = decodeUS(findElement(item, SIG.macIdNumber)!.value);
  const params = findElement(dataSet, TAGS.macParametersSequence)!.items!.find((m) => decodeUS(findElement(m, SIG.macIdNumber)!.value) === macId)!;
  const parts: Uint8Array[] = [];
  writeMacStream(dataSet, decodeAT(findElement(params, SIG.dataElementsSigned)!.value!), item, (c) => parts.push(c));
  return Buffer.concat(parts);
}

function signatureCount(path: string): number {
  return findElement(readPart10(readFileSync(path)).dataSet, TAGS.digitalSignaturesSequence)?.items?.length ?? 0;
}

function dcmsign(args: string[], cwd: string) {
  const r = run('dcmsign', args, { cwd });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

test('MAC stream equals dcmsign --dump and the pydicom oracle, byte for byte, for every object radseal writes', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const rsa = opensslKey(dir, 'rsa', 'pacs-rsa');
  const variants = [
    { name: 'device only', device: ids.device, extra: {} },
    { name: 'device + ECDSA + technologist (nested sequences, private block, three signatures)', device: ids.deviceWithEcdsa, extra: { technologist: ids.technologist } },
    { name: 'odd geometry, no tiles', device: ids.device, extra: { tileSize: 0 }, frame: testFrame(37, 53, 12) },
  ];
  for (const [i, v] of variants.entries()) {
    const src = join(dir, `v${i}.dcm`);
    await sealTo(src, v.frame ?? testFrame(200, 176), v.device, v.extra);
    const ours = signatureCount(src);
    // A purpose code puts a nested sequence into dcmsign's own item as well.
    for (const [j, opts] of [['+m5', '+sp', '5'], ['+m2'], ['+m3', '-t', '0010,0010', '-t', '7fe0,0010', '-t', '0009,1004', '-t', '0008,2218']].entries()) {
      const signedPath = join(dir, `v${i}-${j}.dcm`);
      const dump = join(dir, `v${i}-${j}.bin`);
      const r = dcmsign(['--sign', rsa.key, rsa.cert, ...opts, '--dump', dump, src, signedPath], dir);
      assert.equal(r.status, 0, `dcmsign --sign failed on "${v.name}": ${r.out}`);
      assert.equal(signatureCount(signedPath), ours + 1, 'dcmsign appended one signature item');
      const expected = readFileSync(dump);
      assert.ok(expected.length > 16, 'dcmsign wrote a MAC stream');
      const mine = ourStream(signedPath, ours);
      assert.ok(mine.equals(expected), `${v.name} / ${opts.join(' ')}: radseal MAC stream (${mine.length} bytes) differs from dcmsign's (${expected.length} bytes)`);
      const py = run(PYTHON, [ORACLE, signedPath, String(ours), join(dir, 'py.bin')]);
      assert.equal(py.status, 0, `pydicom oracle failed: ${py.stderr}`);
      assert.ok(readFileSync(join(dir, 'py.bin')).equals(expected), `${v.name} / ${opts.join(' ')}: pydicom oracle differs from dcmsign`);
    }
    // The oracle also agrees with radseal on radseal's own signature items.
    for (let k = 0; k < ours; k++) {
      const py = run(PYTHON, [ORACLE, src, String(k), join(dir, 'own.bin')]);
      assert.equal(py.status, 0, py.stderr);
      assert.ok(readFileSync(join(dir, 'own.bin')).equals(ourStream(src, k)), `${v.name}: own signature ${k} stream differs from the oracle`);
    }
  }
});

test('dcmsign --verify on a file with Ed25519 (whole object and attributes-only) + ECDSA + technologist Ed25519: ECDSA verified, Ed25519 listed as unreadable (exit 101)', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const file = join(dir, 'both.dcm');
  await sealTo(file, testFrame(128, 128), ids.deviceWithEcdsa, { technologist: ids.technologist });
  // One MAC algorithm for all four (ECDSA P-256 takes SHA-512 cut to 256 bits), so the pixels are hashed once.
  const macItems = findElement(readPart10(readFileSync(file)).dataSet, TAGS.macParametersSequence)!.items!;
  assert.deepEqual(macItems.map((i) => decodeString(findElement(i, SIG.macAlgorithm)?.value)), ['SHA512', 'SHA512', 'SHA512', 'SHA512']);
  const plain = dcmsign(['--verify', file], dir);
  assert.equal(plain.status, 101, plain.out);
  const lines = plain.out.split('\n');
  assert.equal(lines.filter((l) => /Signature #\d UID=2\.25\./.test(l)).length, 4, plain.out);
  assert.match(plain.out, /Signature #1 UID=[\d.]+\nW: +Signature Verification : signature verification failed: certificate is missing or unreadable/);
  assert.match(plain.out, /Signature #2 UID=[\d.]+\nW: +Signature Verification : signature verification failed: certificate is missing or unreadable/);
  assert.match(plain.out, /Signature #3 UID=[\d.]+\nW: +Signature Verification : signature is OK but certificate verification failed: self-signed certificate/);
  assert.match(plain.out, /Signature #4 UID=[\d.]+\nW: +Signature Verification : signature verification failed: certificate is missing or unreadable/);
  // With the device's ECDSA certificate as a trust anchor DCMTK reports the ECDSA signature fully OK.
  const anchored = dcmsign(['--verify', '+cf', ids.certs.ecdsa, file], dir);
  assert.equal(anchored.status, 101, 'the Ed25519 items still make dcmsign exit 101');
  assert.match(anchored.out, /Signature #3 UID=[\d.]+\nW: +Signature Verification : OK/);
  // A changed pixel breaks it for DCMTK too.
  const bytes = readFileSync(file);
  const pixels = findElement(readPart10(bytes).dataSet, tag(0x7fe0, 0x0010))!.value!;
  bytes[pixels.byteOffset + 1000]! ^= 1;
  writeFileSync(file, bytes);
  const broken = dcmsign(['--verify', '+cf', ids.certs.ecdsa, file], dir);
  assert.doesNotMatch(broken.out, /Signature #3 UID=[\d.]+\nW: +Signature Verification : OK/);
  assert.match(broken.out, /Signature #3 UID=[\d.]+\nW: +Signature Verification : signature verification failed: signature is invalid \(document corrupted\)/);
  // Only the device (not-trusted-by-DCMTK) ECDSA item: dcmsign exits 0 when it is the only signature and trusted.
  const ecOnly = join(dir, 'ec-only.dcm');
  await sealTo(ecOnly, testFrame(64, 64), ids.deviceWithEcdsa);
  const rm = dcmsign(['--remove', readSignatureUid(ecOnly, 0), ecOnly, join(dir, 'ec-only1.dcm')], dir);
  assert.equal(rm.status, 0, rm.out);
  const rm2 = dcmsign(['--remove', readSignatureUid(ecOnly, 1), join(dir, 'ec-only1.dcm'), join(dir, 'ec-only2.dcm')], dir);
  assert.equal(rm2.status, 0, rm2.out);
  const ok = dcmsign(['--verify', '+cf', ids.certs.ecdsa, join(dir, 'ec-only2.dcm')], dir);
  assert.equal(ok.status, 0, ok.out);
});

function readSignatureUid(path: string, index: number): string {
  const item = findElement(readPart10(readFileSync(path)).dataSet, TAGS.digitalSignaturesSequence)!.items![index]!;
  return Buffer.from(findElement(item, SIG.digitalSignatureUid)!.value!).toString('latin1').replace(/\0+$/, '');
}

test('radseal verifies RSA and ECDSA signatures made by dcmsign (Creator profile and no profile) and catches a change', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const src = join(dir, 'sealed.dcm');
  await sealTo(src, testFrame(96, 80), ids.device);
  const rsa = opensslKey(dir, 'rsa', 'dcmtk-rsa');
  const ec = opensslKey(dir, 'ec', 'dcmtk-ec');
  const cases = [
    { name: 'RSA, no profile, SHA256', key: rsa, args: ['+m2'], alg: /^RSA$/, mac: 'SHA256' },
    { name: 'RSA, Creator profile, SHA512', key: rsa, args: ['+pc', '+m5'], alg: /^RSA$/, mac: 'SHA512' },
    { name: 'ECDSA P-256, no profile, SHA256', key: ec, args: ['+m2'], alg: /^ECDSA-P256$/, mac: 'SHA256' },
    { name: 'ECDSA P-256, no profile, SHA384 (DER, often 71 bytes: OB pad byte)', key: ec, args: ['+m3'], alg: /^ECDSA-P256$/, mac: 'SHA384' },
  ];
  const trust = parseCertificates(Buffer.from(readFileSync(ids.trustPem, 'utf8') + readFileSync(rsa.cert, 'utf8') + readFileSync(ec.cert, 'utf8')));
  for (const [i, c] of cases.entries()) {
    const out = join(dir, `s${i}.dcm`);
    const r = dcmsign(['--sign', c.key.key, c.key.cert, ...c.args, src, out], dir);
    assert.equal(r.status, 0, `${c.name}: ${r.out}`);
    const checks = checkSignatures(readPart10(readFileSync(out)).dataSet);
    assert.equal(checks.length, 3);
    const theirs = checks[2]!;
    assert.match(theirs.algorithm, c.alg, c.name);
    assert.equal(theirs.macAlgorithm, c.mac);
    assert.equal(theirs.valid, true, `${c.name}: ${theirs.problems.join('; ')}`);
    assert.equal(checks[0]!.valid && checks[1]!.valid, true, 'our Ed25519 signatures survive dcmsign adding one');
    const report = verifyObject(out, readFileSync(out), trust);
    assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
    assert.equal(report.signatures[2]!.valid, true);
    assert.equal(report.signatures[2]!.trusted, true);
    assert.equal(report.signatures[2]!.role, 'other');
    assert.match(report.signatures[2]!.key, /^(RSA-2048|ECDSA-P256)$/);
    // Change Patient ID without touching lengths: every signature fails (all cover it).
    const bytes = Buffer.from(readFileSync(out));
    const at = bytes.indexOf(Buffer.from('PID-0001'));
    assert.ok(at > 0);
    bytes[at + 4] = 0x39;
    const again = checkSignatures(readPart10(bytes).dataSet);
    assert.deepEqual(again.map((x) => x.valid), [false, false, false], c.name);
  }
});
