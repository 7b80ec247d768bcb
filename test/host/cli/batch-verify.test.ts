// radseal verify over folders and many files, on the built CLI: DICOM found by content
// (recursively, whatever the name), one report per file as JSON Lines in a stable order
// whatever the number of workers, an unreadable entry is one invalid report and the rest
// go on, a summary line, and an exit code that says the worst.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { radseal, tempDir } from '../support/run.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';

const dir = tempDir('radseal-batch-');
let trust: string;
let tree: string;

interface Line { file: string; verdict: string; reasons: string[]; error?: string }
const lines = (stdout: string): Line[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

before(() => {
  const keys = join(dir, 'keys');
  assert.equal(radseal('keygen', '--id', 'BATCH-DX', '--out', keys).code, 0);
  trust = join(keys, 'device.crt');
  const raw = Buffer.alloc(128 * 128 * 2);
  for (let i = 0; i < 128 * 128; i++) raw.writeUInt16LE((i * 37) % 16384, 2 * i);
  writeFileSync(join(dir, 'frame.raw'), raw);
  for (const serial of ['1', '2']) {
    const r = radseal('seal', '--key', join(keys, 'device.key'), '--cert', trust, '--in', join(dir, 'frame.raw'), '--rows', '128', '--cols', '128',
      '--bits-stored', '14', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--serial', serial, '--out', join(dir, `s${serial}.dcm`));
    assert.equal(r.code, 0, r.stderr);
  }
  tree = join(dir, 'tree');
  mkdirSync(join(tree, 'ok', 'deeper'), { recursive: true });
  copyFileSync(join(dir, 's1.dcm'), join(tree, 'ok', 'IM1')); // no extension, as storescp names files
  copyFileSync(join(dir, 's2.dcm'), join(tree, 'ok', 'deeper', 'IM2.dcm'));
  const tampered = readFileSync(join(dir, 's1.dcm'));
  tampered[tampered.length - 11]! ^= 0x01; // in the last signature item (after Pixel Data in tag order)
  writeFileSync(join(tree, 'tampered.dcm'), tampered);
  writeFileSync(join(tree, 'notes.txt'), 'not an image\n');
  writeFileSync(join(tree, 'fake.dcm'), Buffer.alloc(300)); // named .dcm, but no "DICM" at 128
  symlinkSync(join(dir, 'gone'), join(tree, 'dangling')); // listed, but cannot be read
});

test('a folder and a missing file: every DICOM file by content, unreadable ones as invalid lines, the rest verified, exit 2', () => {
  const missing = join(dir, 'missing.dcm');
  const r = radseal('verify', '--trust', trust, '--json', '--workers', '2', tree, missing);
  assert.equal(r.code, 2, r.stderr);
  const got = lines(r.stdout);
  const byFile = new Map(got.map((l) => [l.file, l]));
  assert.equal(got.length, 5, r.stdout + r.stderr);
  assert.equal(byFile.get(join(tree, 'ok', 'IM1'))?.verdict, 'authentic');
  assert.equal(byFile.get(join(tree, 'ok', 'deeper', 'IM2.dcm'))?.verdict, 'authentic');
  assert.equal(byFile.get(join(tree, 'tampered.dcm'))?.verdict, 'tampered');
  for (const f of [join(tree, 'dangling'), missing]) {
    const l = byFile.get(f);
    assert.equal(l?.verdict, 'invalid', f);
    assert.match(l!.error!, /cannot read .*ENOENT/);
    assert.deepEqual(l!.reasons, [l!.error]);
  }
  assert.ok(!byFile.has(join(tree, 'notes.txt')) && !byFile.has(join(tree, 'fake.dcm')), 'files without "DICM" at byte 128 are left out');
  assert.match(r.stderr, /verified 5 file\(s\).*: 2 authentic, 1 tampered, 2 invalid; 2 could not be read; 2 non-DICOM file\(s\) left out/);
});

test('the order of the reports does not depend on the number of workers', () => {
  const inThread = radseal('verify', '--trust', trust, '--json', '--workers', '0', tree);
  const onWorkers = radseal('verify', '--trust', trust, '--json', '--workers', '2', tree);
  assert.equal(inThread.code, 2);
  assert.equal(onWorkers.code, 2);
  assert.deepEqual(lines(onWorkers.stdout).map((l) => l.file), lines(inThread.stdout).map((l) => l.file));
  assert.equal(onWorkers.stdout, inThread.stdout);
});

test('exit 1 when something is not authentic and everything was read; text reports and a summary', () => {
  const r = radseal('verify', '--trust', trust, join(tree, 'ok'), join(tree, 'tampered.dcm'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /IM1: AUTHENTIC/);
  assert.match(r.stdout, /tampered\.dcm: TAMPERED/);
  assert.match(r.stderr, /verified 3 file\(s\).*: 2 authentic, 1 tampered$/m);
});

test('exit 0 only when every object is authentic; one file alone prints one JSON line and no summary', () => {
  const all = radseal('verify', '--trust', trust, '--json', join(tree, 'ok'));
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(lines(all.stdout).map((l) => l.verdict), ['authentic', 'authentic']);
  const one = radseal('verify', '--trust', trust, '--json', join(dir, 's1.dcm'));
  assert.equal(one.code, 0);
  assert.equal(lines(one.stdout).length, 1);
  assert.equal(one.stderr, '');
});

test('a folder without any DICOM file is an error, not a silent success', () => {
  const empty = join(dir, 'nothing');
  mkdirSync(empty);
  writeFileSync(join(empty, 'readme.txt'), 'x');
  const r = radseal('verify', '--trust', trust, empty);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no DICOM file found in .*nothing \(1 other file\(s\) left out\)/);
});

test('--full-pixel-check recomputes the pixel hash for every object, in this thread and on workers; the JSON says which check proved the pixels', () => {
  type Checked = Line & { pixelCheck?: { by: string } };
  const by = (stdout: string) => (lines(stdout) as Checked[]).map((l) => [l.file.slice(tree.length), l.verdict, l.pixelCheck?.by]);
  for (const workers of ['0', '2']) {
    const fast = radseal('verify', '--trust', trust, '--json', '--workers', workers, tree);
    assert.deepEqual(by(fast.stdout).filter((l) => l[1] !== 'invalid'), [
      ['/ok/IM1', 'authentic', 'device-signature'], ['/ok/deeper/IM2.dcm', 'authentic', 'device-signature'], ['/tampered.dcm', 'tampered', 'pixel-hash'],
    ]);
    const full = radseal('verify', '--trust', trust, '--json', '--workers', workers, '--full-pixel-check', tree);
    assert.deepEqual(by(full.stdout).filter((l) => l[1] !== 'invalid'), [
      ['/ok/IM1', 'authentic', 'pixel-hash'], ['/ok/deeper/IM2.dcm', 'authentic', 'pixel-hash'], ['/tampered.dcm', 'tampered', 'pixel-hash'],
    ]);
  }
});

test('the text report says how the pixels were proven: by the device signature, or rehashed (and whether they match)', () => {
  const one = radseal('verify', '--trust', trust, join(tree, 'ok', 'IM1'));
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /pixels: as captured, proven by the device signature \(MAC 1\) over Pixel Data and its recorded hash; not rehashed/);
  const full = radseal('verify', '--trust', trust, '--full-pixel-check', join(tree, 'ok', 'IM1'));
  assert.match(full.stdout, /pixels: rehashed — they match the hash recorded at capture/);
  const bytes = readFileSync(join(dir, 's1.dcm'));
  const pixels = findElement(readPart10(bytes).dataSet, tag(0x7fe0, 0x0010))!.value!;
  bytes[pixels.byteOffset + 500]! ^= 0x01;
  writeFileSync(join(dir, 'pixel-changed.dcm'), bytes);
  const bad = radseal('verify', '--trust', trust, join(dir, 'pixel-changed.dcm'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout, /pixels: rehashed — they do NOT match the hash recorded at capture/);
  assert.doesNotMatch(bad.stdout, /proven by the device signature/);
});
