// `radseal watermark embed` says at once whether the robust mark reads back from the frame it wrote:
// a 1024 x 1024 phantom does (frames from about 1000 x 880 carry the payload alone, docs/WATERMARK.md;
// smaller ones may need the fragile layer and the attested payload); 256 x 256 noise over the full 12-bit range has no room, and the command says why
// (rather than leaving it to be found out when `watermark detect` reads no payload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePhantom } from '../../../host/image/phantom.js';
import { pixelBytes } from '../../../host/dicom/dx.js';
import { radseal, tempDir } from '../support/run.js';

const dir = tempDir('radseal-wm-embed-');

test('watermark embed: "robust mark reads back" for a phantom, "no room for the robust mark: <why>" for full-range noise', () => {
  const key = join(dir, 'wm.key');
  assert.equal(radseal('watermark', 'keygen', '--out', key).code, 0);
  const phantom = join(dir, 'phantom.raw');
  writeFileSync(phantom, pixelBytes(makePhantom({ rows: 1024, cols: 1024, bitsStored: 14, seed: 5 }).pixels));
  const noise = join(dir, 'noise.raw');
  const px = new Uint16Array(256 * 256);
  const r = randomBytes(2 * px.length);
  for (let i = 0; i < px.length; i++) px[i] = r.readUInt16LE(2 * i) & 0xfff;
  writeFileSync(noise, pixelBytes(px));
  const good = radseal('watermark', 'embed', '--key', key, '--payload', '0102030405060708', '--in', phantom, '--rows', '1024', '--cols', '1024', '--bits-stored', '14', '--out', join(dir, 'p.raw'));
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /^robust mark reads back: payload exact, pilot z \d+\.\d$/m);
  const weak = radseal('watermark', 'embed', '--key', key, '--payload', '0102', '--in', noise, '--rows', '256', '--cols', '256', '--bits-stored', '12', '--out', join(dir, 'n.raw'));
  assert.equal(weak.code, 0, weak.stderr);
  assert.match(weak.stdout, /^no room for the robust mark: .{10,}; `watermark detect` will not read the payload/m);
});

test('radseal seal with the site key says when a frame has no room for the robust mark, and the object verifies authentic with that key', () => {
  const key = join(dir, 'wm2.key');
  assert.equal(radseal('watermark', 'keygen', '--out', key).code, 0);
  assert.equal(radseal('keygen', '--id', 'WM-ROOM-1', '--out', join(dir, 'dev')).code, 0);
  const px = new Uint16Array(256 * 256);
  const r = randomBytes(2 * px.length);
  for (let i = 0; i < px.length; i++) px[i] = r.readUInt16LE(2 * i) & 0xfff;
  const noise = join(dir, 'noise2.raw');
  writeFileSync(noise, pixelBytes(px));
  const out = join(dir, 'noise2.dcm');
  const s = radseal('seal', '--key', join(dir, 'dev', 'device.key'), '--cert', join(dir, 'dev', 'device.crt'), '--in', noise, '--rows', '256', '--cols', '256', '--bits-stored', '12',
    '--patient-orientation', 'L\\F', '--pixel-spacing', '0.1', '--wm-key', key, '--out', out);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^watermark: no room for the robust mark in this frame \(.{10,}\); verify with the site key confirms the frame through the fragile layer/m);
  const v = radseal('verify', '--trust', join(dir, 'dev', 'device.crt'), '--wm-key', key, out);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /AUTHENTIC/);
  // The report says who read the payload: here the fragile layer, so the mark would not survive an export.
  assert.match(v.stdout, /watermark: present .*matches the attestation \(read by the fragile layer: the robust mark has no room in this frame/);
  const json = radseal('verify', '--json', '--trust', join(dir, 'dev', 'device.crt'), '--wm-key', key, out);
  assert.equal(JSON.parse(json.stdout).watermark.payloadSource, 'fragile');
  // A frame with room: the robust mark reads it, and the report says nothing of the fragile layer.
  const phantom = join(dir, 'phantom2.raw');
  writeFileSync(phantom, pixelBytes(makePhantom({ rows: 1024, cols: 1024, bitsStored: 14, seed: 6 }).pixels));
  const roomy = join(dir, 'phantom2.dcm');
  const s2 = radseal('seal', '--key', join(dir, 'dev', 'device.key'), '--cert', join(dir, 'dev', 'device.crt'), '--in', phantom, '--rows', '1024', '--cols', '1024', '--bits-stored', '14',
    '--patient-orientation', 'L\\F', '--pixel-spacing', '0.1', '--wm-key', key, '--out', roomy);
  assert.equal(s2.code, 0, s2.stderr);
  assert.doesNotMatch(s2.stdout, /no room/);
  const v2 = radseal('verify', '--json', '--trust', join(dir, 'dev', 'device.crt'), '--wm-key', key, roomy);
  assert.equal(v2.code, 0, v2.stdout);
  assert.equal(JSON.parse(v2.stdout).watermark.payloadSource, 'robust');
});
