// The seal's head and pixels are final before the MAC is computed (every MAC Parameters item is
// planned first), so `radseal seal` writes them while the pixels are hashed: the head handed out
// ahead is the sealed object's head, byte for byte, and the pixels are the frame where it lies.
// The file the CLI writes that way verifies (radseal, and DCMTK for the ECDSA signature); a seal
// that fails after the writing began leaves nothing in the output folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sealFrame } from '../../../host/seal/seal.js';
import { pixelBytes } from '../../../host/dicom/dx.js';
import { sha256 } from '../../../host/core/hash.js';
import { checkSignatures } from '../../../host/dicom/signatures.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { makeIdentities, META, run as tool } from '../dicom/fixtures.js';
import { radseal, tempDir } from '../support/run.js';

test('writeAhead gets the sealed head and the frame\'s pixels before the MAC; the object is them and its tail', async (t) => {
  const dir = tempDir('radseal-write-ahead-');
  const ids = await makeIdentities(dir);
  const frame = makePhantom({ rows: 300, cols: 257, bitsStored: 12, seed: 5 });
  for (const [who, device, technologist, tileSize] of [['device', ids.device, undefined, 64], ['device+ECDSA+technologist', ids.deviceWithEcdsa, ids.technologist, 64], ['no tile table', ids.device, undefined, 0]] as const) {
    let ahead: { head: Uint8Array; pixels: Uint8Array } | undefined;
    const sealed = await sealFrame({ frame, rawFrameSha256: sha256(pixelBytes(frame.pixels)), frameSerial: 3, meta: META, technologist, tileSize, gathered: true,
      writeAhead: (head, pixels) => { assert.equal(ahead, undefined, 'called once'); ahead = { head: head.slice(), pixels: pixels.slice() }; } }, device);
    assert.ok(ahead, `${who}: writeAhead was called`);
    const [head, pixels, tail] = sealed.parts;
    assert.deepEqual(Buffer.from(head!), Buffer.from(ahead.head), `${who}: the head written ahead is the sealed head`);
    assert.deepEqual(Buffer.from(pixels!), Buffer.from(ahead.pixels));
    assert.deepEqual(Buffer.from(pixels!), Buffer.from(pixelBytes(frame.pixels)));
    const file = Buffer.concat([ahead.head, ahead.pixels, tail!]);
    assert.deepEqual(file, Buffer.from(sealed.bytes));
    const checks = checkSignatures(readPart10(file).dataSet);
    assert.equal(checks.length, (tileSize ? 2 : 1) + (device.ecdsa ? 1 : 0) + (technologist ? 1 : 0), who);
    assert.ok(checks.every((c) => c.valid), `${who}: ${checks.map((c) => c.problems.join('; ')).join(' | ')}`);
  }
  t.diagnostic('head and pixels handed out ahead are the object\'s, for 1 to 4 signatures');
});

test('radseal seal writes ahead: the file verifies (radseal, DCMTK); a seal failing after the write began leaves nothing behind', async () => {
  const dir = tempDir('radseal-write-ahead-cli-');
  assert.equal(radseal('keygen', '--id', 'AHEAD-DX', '--out', join(dir, 'keys'), '--ecdsa').code, 0);
  const key = join(dir, 'keys', 'device.key');
  const cert = join(dir, 'keys', 'device.crt');
  const frame = makePhantom({ rows: 700, cols: 1100, bitsStored: 14, seed: 9 });
  const raw = join(dir, 'f.raw');
  writeFileSync(raw, pixelBytes(frame.pixels));
  const trust = join(dir, 'trust.pem');
  writeFileSync(trust, Buffer.concat([cert, join(dir, 'keys', 'device-ecdsa.crt')].map((f) => tool('cat', [f]).stdout).map((s) => Buffer.from(s))));
  const args = (out: string, ...more: string[]) => ['seal', '--key', key, '--cert', cert, '--in', raw, '--rows', '700', '--cols', '1100', '--bits-stored', '14',
    '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', out, ...more];
  const outDir = join(dir, 'out');
  tool('mkdir', [outDir]);
  for (const tileSize of ['64', '0']) {
    const out = join(outDir, `s${tileSize}.dcm`);
    const r = radseal(...args(out, '--tile-size', tileSize, '--ecdsa-key', join(dir, 'keys', 'device-ecdsa.key'), '--ecdsa-cert', join(dir, 'keys', 'device-ecdsa.crt')));
    assert.equal(r.code, 0, r.stderr);
    const v = radseal('verify', '--trust', trust, '--full-pixel-check', out);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /AUTHENTIC/);
    const d = tool('dcmsign', ['--verify', out]);
    assert.match(d.stdout + d.stderr, /signature is OK/, 'DCMTK checks the ECDSA signature of the file written ahead');
  }
  // A time-stamping authority that is not there fails the seal after the head and pixels were written.
  const failed = radseal(...args(join(outDir, 'never.dcm'), '--tsa', 'http://127.0.0.1:9/tsa'));
  assert.notEqual(failed.code, 0);
  assert.deepEqual(readdirSync(outDir).sort(), ['s0.dcm', 's64.dcm'], 'no draft, no half-written object');
});
