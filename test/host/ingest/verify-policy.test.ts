// Verification at ingest: both signers, the co-signature policy, the minimum
// signed set (with signatures made by DCMTK), per-tile tamper localisation,
// and plain verdicts for re-encoded copies (DCMTK dcmconv / dcmcjpeg).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyObject } from '../../../host/ingest/verify.js';
import { DEFAULT_POLICY, parsePolicy, PolicyError } from '../../../host/ingest/policy.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { tempDir, testFrame, makeIdentities, sealTo, run, opensslKey } from '../dicom/fixtures.js';
import { EKU_DEVICE } from '../../../host/keys/pki/profiles.js';

const trustOf = (...pems: string[]) => parseCertificates(Buffer.from(pems.map((p) => readFileSync(p, 'utf8')).join('')));
const requireTech = { ...DEFAULT_POLICY, requireTechnologistSignature: true };

test('verify reports device and technologist signers; policy decides whether a missing co-signature fails', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const trust = trustOf(ids.trustPem);
  const both = join(dir, 'both.dcm');
  await sealTo(both, testFrame(96, 96), ids.deviceWithEcdsa, { technologist: ids.technologist });
  const r = verifyObject(both, readFileSync(both), trust, { policy: requireTech });
  assert.equal(r.verdict, 'authentic', r.reasons.join('; '));
  assert.deepEqual(r.signatures.map((s) => [s.role, s.algorithm, s.signer, s.purpose, s.valid, s.trusted]), [
    ['device', 'Ed25519', 'DX-ROOM-3', 'Source Signature', true, true],
    ['device-attributes', 'Ed25519', 'DX-ROOM-3', 'Source Signature', true, true],
    ['device', 'ECDSA-P256', 'DX-ROOM-3', 'Source Signature', true, true],
    ['technologist', 'Ed25519', 'tech042', "Author's Signature", true, true],
  ]);
  assert.deepEqual(r.technologist, { operatorId: 'tech042', operatorsName: 'Doe^Jane', signer: 'tech042', accepted: true });
  assert.deepEqual(r.reasons, []);

  const deviceOnly = join(dir, 'device-only.dcm');
  await sealTo(deviceOnly, testFrame(96, 96), ids.device);
  assert.equal(verifyObject(deviceOnly, readFileSync(deviceOnly), trust).verdict, 'authentic', 'default policy: co-signature optional');
  const strict = verifyObject(deviceOnly, readFileSync(deviceOnly), trust, { policy: requireTech });
  assert.equal(strict.verdict, 'untrusted');
  assert.ok(strict.reasons.some((x) => /no technologist co-signature.*policy requires one/.test(x)), strict.reasons.join('; '));

  // Technologist certificate not in the trust set.
  const noTechTrust = trustOf(ids.certs.device, ids.certs.ecdsa);
  const u = verifyObject(both, readFileSync(both), noTechTrust, { policy: requireTech });
  assert.equal(u.verdict, 'untrusted');
  assert.equal(u.technologist?.accepted, false);
  assert.equal(verifyObject(both, readFileSync(both), noTechTrust).verdict, 'authentic');

  // A co-signer whose certificate is not the operator the object names.
  const impostor = join(dir, 'impostor.dcm');
  await sealTo(impostor, testFrame(64, 64), ids.device, { technologist: { ...ids.technologist, operatorId: 'tech999' } });
  const i = verifyObject(impostor, readFileSync(impostor), trust, { policy: requireTech });
  assert.equal(i.verdict, 'untrusted');
  assert.ok(i.reasons.some((x) => /technologist certificate "tech042" does not match the operator identifier "tech999"/.test(x)), i.reasons.join('; '));
});

test('minimum signed set and MAC strength, with Source signatures made by dcmsign', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const sealed = join(dir, 'sealed.dcm');
  await sealTo(sealed, testFrame(80, 80), ids.device);
  const bare = join(dir, 'bare.dcm');
  assert.equal(run('dcmsign', ['--remove-all', sealed, bare]).status, 0);
  const ec = opensslKey(dir, 'ec', 'DX-ROOM-3', EKU_DEVICE); // a DCMTK-made key for the same device id, with the device role
  const trust = trustOf(ids.trustPem, ec.cert);
  const sign = (name: string, args: string[]) => {
    const out = join(dir, `${name}.dcm`);
    const r = run('dcmsign', ['--sign', ec.key, ec.cert, '+sp', '14', ...args, bare, out]);
    assert.equal(r.status, 0, r.stderr);
    return verifyObject(out, readFileSync(out), trust);
  };
  const full = sign('full', ['+m2']);
  assert.equal(full.verdict, 'authentic', 'positive control: ' + full.reasons.join('; '));
  assert.equal(full.signatures[0]!.purpose, 'Source Signature');
  const weak = sign('sha1', ['+ms']);
  assert.equal(weak.signatures[0]!.valid, true, 'the SHA-1 signature is correct...');
  assert.equal(weak.verdict, 'untrusted', '...but policy rejects it');
  assert.ok(weak.reasons.some((x) => /MAC algorithm SHA1 is not accepted by policy/.test(x)), weak.reasons.join('; '));
  const ripemd = sign('ripemd', []);
  assert.equal(ripemd.verdict, 'untrusted');
  assert.ok(ripemd.reasons.some((x) => /MAC algorithm RIPEMD160 is not accepted/.test(x)));
  const tags = ['0008,0016', '0008,0018', '0020,000d', '0020,000e', '0010,0010', '0010,0020', '0009,0010', '0009,1001', '0009,1004', '0009,1005', '7fe0,0010',
    '0028,0002', '0028,0004', '0028,0010', '0028,0011', '0028,0100', '0028,0101', '0028,0102', '0028,0103'];
  // A signature over exactly the minimum set vouches for those elements only: everything else the
  // object holds is then unsigned, so the object is not authentic, and verify names what is uncovered.
  const omit = (skip: string) => sign(`no-${skip.replace(',', '')}`, ['+m2', ...tags.filter((x) => x !== skip).flatMap((x) => ['-t', x])]);
  const minimal = omit('none');
  assert.equal(minimal.signatures[0]!.valid && minimal.signatures[0]!.policyOk, true, 'positive control: the listed set meets the policy');
  assert.equal(minimal.verdict, 'tampered');
  assert.ok(minimal.reasons.some((x) => /\(0008,0005\).*covered by no trusted device signature/.test(x)), minimal.reasons.join('; '));
  for (const [skip, name] of [['7fe0,0010', 'Pixel Data'], ['0020,000d', 'Study Instance UID'], ['0010,0020', 'Patient ID'], ['0009,1004', 'raw frame hash'], ['0028,0010', 'Rows'], ['0028,0004', 'Photometric Interpretation']] as const) {
    const r = omit(skip);
    assert.equal(r.signatures[0]!.valid, true);
    assert.equal(r.verdict, 'untrusted', `leaving out ${name}`);
    assert.ok(r.reasons.some((x) => x.includes(`does not cover ${name}`)), r.reasons.join('; '));
  }
  assert.throws(() => parsePolicy({ acceptedMacAlgorithms: ['SHA1'] }), PolicyError);
  assert.throws(() => parsePolicy({ requireTechnologist: true }), /unknown key/);
  const p = parsePolicy({ requireTechnologistSignature: true, additionalRequiredSignedTags: ['0018,1164'] });
  assert.equal(p.requireTechnologistSignature, true);
  assert.ok(p.requiredSignedTags.some((x) => x.tag === tag(0x0018, 0x1164)));
  assert.equal(p.requiredSignedTags.length, DEFAULT_POLICY.requiredSignedTags.length + 1);
});

test('per-tile hashes name exactly the changed tiles on the lossless path', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const file = join(dir, 'sealed.dcm');
  const rows = 300, cols = 200; // 5 x 4 tiles of 64 px, edge tiles partial
  await sealTo(file, testFrame(rows, cols), ids.device);
  const trust = trustOf(ids.trustPem);
  const bytes = Buffer.from(readFileSync(file));
  const off = findElement(readPart10(bytes).dataSet, tag(0x7fe0, 0x0010))!.value!.byteOffset;
  const poke = (y: number, x: number) => { bytes[off + (y * cols + x) * 2]! ^= 0x10; };
  // A 20x20 paste-in straddling tiles [1,1] and [1,2], and one pixel in the partial corner tile [4,3].
  for (let y = 100; y < 120; y++) for (let x = 120; x < 140; x++) poke(y, x);
  poke(299, 199);
  const r = verifyObject('t.dcm', bytes, trust);
  assert.equal(r.verdict, 'tampered');
  assert.deepEqual(r.tamperedTiles, { size: 64, rows: 5, cols: 4, tiles: [[1, 1], [1, 2], [4, 3]], tableAuthenticated: true });
  assert.ok(r.reasons.some((x) => x.startsWith('3 of 20 tiles (64x64 px) changed: [1,1] [1,2] [4,3]')), r.reasons.join('; '));
  // A change outside Pixel Data: tampered, but no tiles to name.
  const meta = Buffer.from(readFileSync(file));
  const at = meta.indexOf(Buffer.from('Test^Patient'));
  meta[at] = 0x42;
  const m = verifyObject('m.dcm', meta, trust);
  assert.equal(m.verdict, 'tampered');
  assert.equal(m.tamperedTiles, undefined);
});

test('re-encoded copies get a verdict that says so; unsupported transfer syntaxes are named', async (t) => {
  const dir = tempDir(t);
  const ids = await makeIdentities(dir);
  const file = join(dir, 'sealed.dcm');
  await sealTo(file, testFrame(64, 64), ids.device);
  const trust = trustOf(ids.trustPem);
  const conv = (name: string, tool: string, args: string[], from = file) => {
    const out = join(dir, name);
    const r = run(tool, [...args, from, out]);
    assert.equal(r.status, 0, `${tool} ${args.join(' ')}: ${r.stderr}`);
    return verifyObject(out, readFileSync(out), trust);
  };
  const implicit = conv('implicit.dcm', 'dcmconv', ['+ti']);
  assert.equal(implicit.verdict, 'invalid');
  assert.equal(implicit.reencoded, true);
  assert.match(implicit.reasons[0]!, /^re-encoded: the object was converted to Implicit VR Little Endian \(1\.2\.840\.10008\.1\.2\).*private attributes became UN/);
  assert.equal(implicit.capture?.deviceId, 'DX-ROOM-3', 'the attestation is still read');
  const back = conv('back.dcm', 'dcmconv', ['+te'], join(dir, 'implicit.dcm'));
  assert.equal(back.transferSyntax, '1.2.840.10008.1.2.1');
  assert.equal(back.verdict, 'invalid');
  assert.equal(back.reencoded, true);
  assert.match(back.reasons[0]!, /^re-encoded: signed elements \(0009,1001\), \(0009,1002\).* are now UN/);
  const deflated = conv('deflated.dcm', 'dcmconv', ['+td']);
  assert.equal(deflated.verdict, 'invalid');
  assert.match(deflated.reasons[0]!, /unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.1\.99 \(Deflated Explicit VR Little Endian\)/);
  const big = conv('big.dcm', 'dcmconv', ['+tb']);
  assert.match(big.reasons[0]!, /unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.2 \(Explicit VR Big Endian \(retired\)\)/);
  const jpeg = conv('jpeg.dcm', 'dcmcjpeg', []);
  assert.equal(jpeg.verdict, 'invalid');
  assert.equal(jpeg.reencoded, true);
  assert.match(jpeg.reasons[0]!, /^re-encoded: Pixel Data was compressed to JPEG Lossless, Non-Hierarchical, First-Order Prediction .*\(1\.2\.840\.10008\.1\.2\.4\.70\) after signing/);
  // The original still verifies (positive control for all of the above).
  assert.equal(verifyObject(file, readFileSync(file), trust).verdict, 'authentic');
});
