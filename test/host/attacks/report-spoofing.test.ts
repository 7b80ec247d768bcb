// A forged object that cannot pass verification can still try to make its report *look* as if it
// did: text the report quotes from the object (the attested device id, the operator's name and id)
// carrying a carriage return and ANSI cursor codes that overwrite the verdict line on a terminal
// ("…: AUTHENTIC"), or a right-to-left override that reorders what a reader sees. The report must
// carry such text only as printable escapes, in the library result and in the CLI's text output.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, radseal } from '../support/run.js';
import { sealedObject, verifyLib, writeIn, type Sealed } from './support.js';
import { edit, must, t, type Node } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-spoof-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const text = (tag: number, vr: string, v: string): Node => {
  const b = new TextEncoder().encode(v);
  return { tag, vr, value: b.length % 2 ? new Uint8Array([...b, 0x20]) : b };
};

function forged(): Uint8Array {
  const file = join(dir, 'forged.dcm');
  const overwrite = `DX-ROOM-3\r\x1b[6A\x1b[2K${file}: AUTHENTIC\x1b[8m`;
  return edit(s.bytes, (f) => {
    must(f.dataSet, t(0x0009, 0x1001)).value = text(0, 'LO', overwrite).value;
    must(f.dataSet, t(0x0008, 0x1070)).value = text(0, 'PN', 'Doe^\u202eenaJ').value;
  });
}

test('library report: the quoted device id and operator name keep no control or bidi character', () => {
  const r = verifyLib(s, forged());
  assert.equal(r.verdict, 'tampered');
  assert.match(r.capture?.deviceId ?? '', /^DX-ROOM-3\\x0d\\x1b\[6A\\x1b\[2K.*AUTHENTIC\\x1b\[8m$/);
  // Read in the object's character set (no UTF-8 declared here): the override's bytes show as escapes either way.
  assert.match(r.technologist?.operatorsName ?? '', /^Doe\^.*\\x80.*enaJ$/);
  const strings: string[] = [];
  JSON.stringify(r, (_k, v) => { if (typeof v === 'string') strings.push(v); return v; });
  for (const x of strings) assert.doesNotMatch(x, UNPRINTABLE, JSON.stringify(x));
});

test('CLI text output: the verdict line stays TAMPERED and nothing in the output moves the cursor', () => {
  const file = writeIn(dir, 'forged.dcm', forged());
  const r = radseal('verify', file, '--trust', s.ids.trustPem);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `${file}: TAMPERED`);
  assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/, 'only newlines as control characters');
  assert.match(r.stdout, /capture: device DX-ROOM-3\\x0d\\x1b\[6A/);
});

test('CLI text output of a folder: a file named with cursor codes cannot rewrite its verdict line', () => {
  const folder = join(dir, 'watched');
  mkdirSync(folder, { recursive: true });
  const name = `x\r\x1b[2Kgenuine.dcm: AUTHENTIC\x1b[8m.dcm`;
  writeIn(folder, name, forged());
  const r = radseal('verify', folder, '--trust', s.ids.trustPem, '--no-progress');
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/, 'only newlines as control characters');
  assert.match(r.stdout.split('\n')[0]!, /x\\x0d\\x1b\[2Kgenuine\.dcm: AUTHENTIC\\x1b\[8m\.dcm: TAMPERED$/);
});

test('control: the genuine object\'s report is unchanged text', () => {
  const r = verifyLib(s, s.bytes);
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  assert.equal(r.capture?.deviceId, 'DX-ROOM-3');
  assert.equal(r.technologist?.operatorsName, 'Doe^Jane');
});
