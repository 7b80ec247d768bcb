// `radseal seal` signs no guessed Imager Pixel Spacing or Patient Orientation: without them it
// makes no object and names what is missing and where it comes from; given (option, meta file or
// board), they are what is signed, and dciodvfy finds nothing wrong with Patient Orientation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { radseal, tempDir } from '../support/run.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { parseOrientation } from '../../../host/seal/meta.js';

const SPACING = tag(0x0018, 0x1164);
const ORIENTATION = tag(0x0020, 0x0020);

async function station() {
  const dir = tempDir('radseal-acq-');
  const keys = await generateDeviceKey('DX-ACQ-1', join(dir, 'keys'));
  const frame = join(dir, 'f.raw');
  const px = new Uint16Array(64 * 48);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 4096;
  writeFileSync(frame, new Uint8Array(px.buffer));
  const seal = (out: string, ...extra: string[]) => radseal('seal', '--key', keys.key, '--cert', keys.cert, '--in', frame, '--rows', '64', '--cols', '48', '--bits-stored', '12', ...extra, '--out', join(dir, out));
  const value = (out: string, t: number) => {
    const el = findElement(readPart10(new Uint8Array(readFileSync(join(dir, out)))).dataSet, t);
    return el ? decodeString(el.value) : undefined;
  };
  return { dir, seal, value };
}

test('seal without pixel spacing or orientation: no object, both named with where they come from', async () => {
  const s = await station();
  const r = s.seal('none.dcm');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Imager Pixel Spacing \(0018,1164\) is not known: give --pixel-spacing, the board's detector\.pixelSpacingMm/);
  assert.match(r.stderr, /Patient Orientation \(0020,0020\) is not known: give --patient-orientation/);
  assert.ok(!existsSync(join(s.dir, 'none.dcm')));
  const onlyOrientation = s.seal('o.dcm', '--patient-orientation', 'L\\F');
  assert.equal(onlyOrientation.code, 2);
  assert.match(onlyOrientation.stderr, /Imager Pixel Spacing/);
  assert.doesNotMatch(onlyOrientation.stderr, /Patient Orientation/);
  assert.ok(!existsSync(join(s.dir, 'o.dcm')));
  // A meta file with an empty orientation is refused as a bad value, not sealed empty.
  writeFileSync(join(s.dir, 'empty.json'), JSON.stringify({ patientOrientation: [], imagerPixelSpacing: [0.1, 0.1] }));
  const empty = s.seal('e.dcm', '--meta', join(s.dir, 'empty.json'));
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /patientOrientation must be two directions/);
});

test('what is given is what is signed: options, meta file, board; dciodvfy accepts the orientation', async () => {
  const s = await station();
  const a = s.seal('a.dcm', '--patient-orientation', 'a\\f', '--pixel-spacing', '0.15\\0.148');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(s.value('a.dcm', ORIENTATION), 'A\\F');
  assert.equal(s.value('a.dcm', SPACING), '0.15\\0.148');
  const dciodvfy = spawnSync('dciodvfy', [join(s.dir, 'a.dcm')], { encoding: 'utf8' });
  const out = dciodvfy.stdout + dciodvfy.stderr;
  assert.match(out, /DXImageForPresentation/, out);
  assert.doesNotMatch(out, /Error.*(PatientOrientation|ImagerPixelSpacing)/, out);

  writeFileSync(join(s.dir, 'meta.json'), JSON.stringify({ patientOrientation: ['P', 'F'], boardId: 'usb-cdc' }));
  const b = s.seal('b.dcm', '--meta', join(s.dir, 'meta.json'));
  assert.equal(b.code, 0, b.stderr);
  assert.equal(s.value('b.dcm', ORIENTATION), 'P\\F');
  assert.equal(s.value('b.dcm', SPACING), '0.15\\0.15', 'the usb-cdc board says 0.15 mm, not the old 0.139 default');
});

test('orientations that cannot be: refused with the rule', () => {
  for (const bad of ['L\\R', 'LR\\F', 'L', 'L\\F\\A', 'X\\F', 'LL\\F', 'F\\H', '']) {
    assert.throws(() => parseOrientation(bad, '--patient-orientation'), /Patient Orientation .* must be two directions/, bad);
  }
  assert.deepEqual(parseOrientation('l\\fp', 'x'), ['L', 'FP']);
  assert.deepEqual(parseOrientation('A,F', 'x'), ['A', 'F']);
});
