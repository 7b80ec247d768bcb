// The MAC byte stream checked against an independent implementation: DCMTK's
// dcmsign writes the stream it signs (--dump); radseal's writeMacStream must
// produce the same bytes for dcmsign's signature item, and radseal must
// accept dcmsign's RSA signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement } from '../../../host/dicom/model.js';
import { TAGS, writeMacStream } from '../../../host/dicom/mac.js';
import { SIG, checkSignatures } from '../../../host/dicom/signatures.js';
import { decodeAT } from '../../../host/dicom/values.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { radseal, run, tempDir } from '../support/run.js';

const dir = tempDir();

function streamOf(file: string, index: number): { stream: Buffer; tags: number[] } {
  const { dataSet } = readPart10(readFileSync(file));
  const item = findElement(dataSet, TAGS.digitalSignaturesSequence)!.items![index]!;
  const mac = findElement(dataSet, TAGS.macParametersSequence)!.items![index]!;
  const tags = decodeAT(findElement(mac, SIG.dataElementsSigned)!.value!);
  const parts: Uint8Array[] = [];
  writeMacStream(dataSet, tags, item, (c) => parts.push(c));
  return { stream: Buffer.concat(parts), tags };
}

test('MAC stream equals dcmsign --dump byte for byte, and dcmsign RSA signatures verify in radseal', () => {
  assert.equal(radseal('keygen', '--id', 'DX-MAC', '--out', join(dir, 'keys')).code, 0);
  const frame = makePhantom({ rows: 128, cols: 160, bitsStored: 12, seed: 3 });
  writeFileSync(join(dir, 'f.raw'), new Uint8Array(frame.pixels.buffer));
  const sealed = join(dir, 'sealed.dcm');
  const s = radseal('seal', '--key', join(dir, 'keys/device.key'), '--cert', join(dir, 'keys/device.crt'), '--in', join(dir, 'f.raw'),
    '--rows', '128', '--cols', '160', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', sealed);
  assert.equal(s.code, 0, s.stderr);

  const key = join(dir, 'rsa.key');
  const crt = join(dir, 'rsa.crt');
  const o = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=dcmsign-oracle', '-days', '2']);
  assert.equal(o.code, 0, o.stderr);
  for (const [flag, name] of [['+m5', 'SHA512'], ['+m2', 'SHA256']] as const) {
    const resigned = join(dir, `resigned-${name}.dcm`);
    const dump = join(dir, `stream-${name}.bin`);
    const d = run('dcmsign', ['--sign', key, crt, flag, '--dump', dump, sealed, resigned]);
    assert.equal(d.code, 0, d.stdout + d.stderr);

    const theirs = readFileSync(dump);
    const ours = streamOf(resigned, 2); // after radseal's two device signatures
    assert.ok(theirs.length > 128 * 160 * 2, 'the stream includes Pixel Data');
    assert.equal(ours.stream.length, theirs.length);
    assert.ok(ours.stream.equals(theirs), `MAC stream differs from dcmsign's (${name})`);

    // Both signatures in the file check out in radseal: ours (Ed25519) and dcmsign's (RSA).
    const checks = checkSignatures(readPart10(readFileSync(resigned)).dataSet);
    assert.deepEqual(checks.map((c) => [c.algorithm, c.macAlgorithm, c.valid]), [['Ed25519', 'SHA512', true], ['Ed25519', 'SHA512', true], ['RSA', name, true]]);

    // Our signature covers the same elements dcmsign chose, so the data part of both streams is identical.
    const ourOwn = streamOf(resigned, 0);
    assert.deepEqual(ourOwn.tags, ours.tags);
  }
});
