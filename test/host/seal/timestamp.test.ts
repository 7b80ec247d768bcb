// Certified Timestamps (PS3.3 C.12.1.1.3, CMS_TSP): the device signature time-stamped by a real
// RFC 3161 TSA (OpenSSL `openssl ts -reply` on 127.0.0.1), checked by radseal verify, with
// OpenSSL's own `ts -verify` as the independent oracle on the token stored in the DICOM object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement } from '../../../host/dicom/model.js';
import { TAGS } from '../../../host/dicom/mac.js';
import { SIG, addCertifiedTimestamp } from '../../../host/dicom/signatures.js';
import { encodePart10 } from '../../../host/dicom/writer.js';
import { parsePart10 } from '../../../host/net/cstore.js';
import { requestTimestamp } from '../../../host/net/tsa-client.js';
import { tempDir, testFrame, makeIdentities, sealTo, run } from '../dicom/fixtures.js';
import { startTsa } from '../support/tsa.js';

/** The Signature value and Certified Timestamp of signature item i. */
function sigAndToken(bytes: Uint8Array, i = 0): { signature: Uint8Array; type?: string; token?: Uint8Array } {
  const item = findElement(readPart10(bytes).dataSet, TAGS.digitalSignaturesSequence)!.items![i]!;
  return {
    signature: findElement(item, TAGS.signature)!.value!,
    type: findElement(item, SIG.certifiedTimestampType) ? Buffer.from(findElement(item, SIG.certifiedTimestampType)!.value!).toString('latin1').trim() : undefined,
    token: findElement(item, SIG.certifiedTimestamp)?.value,
  };
}

test('a device signature time-stamped by a TSA: verify reports the certified time; OpenSSL verifies the stored token; a wrong or untrusted token is never authentic', async (t) => {
  const dir = tempDir(t, 'radseal-tsa-');
  const tsa = await startTsa(join(dir, 'tsa'));
  t.after(() => tsa.stop());
  const ids = await makeIdentities(dir);
  const before = Date.now();
  const bytes = await sealTo(join(dir, 'ts.dcm'), testFrame(128, 128), ids.device, { timestamp: (sig) => requestTimestamp(tsa.url, sig) });
  assert.equal(tsa.answered, 1, 'one request: the device signature');

  const { signature, type, token } = sigAndToken(bytes);
  assert.equal(type, 'CMS_TSP');
  assert.ok(token && token.length > 100);
  assert.equal(sigAndToken(bytes, 1).token, undefined, 'only the device signature over the whole object is time-stamped');
  // Independent oracle: OpenSSL checks the token against the signature value it certifies.
  writeFileSync(join(dir, 'sig.bin'), signature);
  writeFileSync(join(dir, 'token.der'), token);
  const o = run('openssl', ['ts', '-verify', '-data', join(dir, 'sig.bin'), '-in', join(dir, 'token.der'), '-token_in', '-CAfile', tsa.caPath, '-untrusted', tsa.tsaCertPath]);
  assert.match(o.stdout + o.stderr, /Verification: OK/, o.stdout + o.stderr);

  const trustWithTsa = parseCertificates(Buffer.concat([readFileSync(ids.trustPem), Buffer.from(tsa.caPem)]));
  const ok = verifyObject('ts.dcm', bytes, trustWithTsa);
  assert.equal(ok.verdict, 'authentic', ok.reasons.join('\n'));
  const certified = Date.parse(ok.signatures[0]!.certifiedTime!);
  assert.ok(certified >= Math.floor(before / 1000) * 1000 - 1000 && certified <= Date.now() + 1000, `certified time ${ok.signatures[0]!.certifiedTime}`);
  assert.equal(ok.signatures[0]!.certifiedBy, 'CN=Test-TSA');
  assert.equal(ok.signatures[1]!.certifiedTime, undefined);

  // The TSA not in the trust set: the token cannot vouch, so the object is not "authentic".
  const noTsa = verifyObject('ts.dcm', bytes, parseCertificates(readFileSync(ids.trustPem)));
  assert.equal(noTsa.verdict, 'invalid');
  assert.ok(noTsa.reasons.some((r) => /certified timestamp not valid: .*TSA \(CN=Test-TSA\) is not trusted/.test(r)), noTsa.reasons.join('\n'));

  // A token for another signature moved into this object: its imprint gives it away. (The token
  // sits outside every MAC, so the signatures themselves stay valid.)
  const other = await sealTo(join(dir, 'other.dcm'), testFrame(128, 128, 14, 9), ids.device, { timestamp: (sig) => requestTimestamp(tsa.url, sig) });
  const parsed = readPart10(bytes);
  const sigUid = Buffer.from(findElement(findElement(parsed.dataSet, TAGS.digitalSignaturesSequence)!.items![0]!, SIG.digitalSignatureUid)!.value!).toString('latin1').replace(/\0+$/, '');
  addCertifiedTimestamp(parsed.dataSet, sigUid, sigAndToken(other).token!);
  const p10 = parsePart10(bytes);
  const swapped = encodePart10({ sopClassUid: p10.sopClassUid, sopInstanceUid: p10.sopInstanceUid }, parsed.dataSet);
  const s = verifyObject('swapped.dcm', swapped, trustWithTsa);
  assert.equal(s.verdict, 'invalid');
  assert.deepEqual(s.signatures.map((x) => x.valid), [true, true]);
  assert.ok(s.reasons.some((r) => /imprint does not match/.test(r)), s.reasons.join('\n'));

  // A damaged token (one bit in its TSA signature): not valid either.
  const at = Buffer.from(bytes).indexOf(Buffer.from(token));
  const damaged = Buffer.from(bytes);
  damaged[at + token.length - 5]! ^= 0x01;
  assert.equal(verifyObject('damaged.dcm', damaged, trustWithTsa).verdict, 'invalid');
});

test('radseal seal --tsa: a TSA that does not answer fails the command with the reason, and writes nothing', async (t) => {
  const dir = tempDir(t, 'radseal-tsa-cli-');
  const ids = await makeIdentities(dir);
  const frame = join(dir, 'f.raw');
  writeFileSync(frame, new Uint8Array(64 * 64 * 2));
  const r = run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../../host/cli/main.ts'), 'seal', '--key', ids.certs.deviceKey, '--cert', ids.certs.device,
    '--in', frame, '--rows', '64', '--cols', '64', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', join(dir, 'out.dcm'), '--tsa', 'http://127.0.0.1:9/tsa']);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /TSA http:\/\/127\.0\.0\.1:9\/tsa unreachable/);
  assert.throws(() => readFileSync(join(dir, 'out.dcm')), /ENOENT/);
});
