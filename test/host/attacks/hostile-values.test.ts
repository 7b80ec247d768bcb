// File content that lands in JavaScript lookup tables: names that every
// object inherits (constructor, __proto__, toString, hasOwnProperty) as MAC
// Algorithm, Transfer Syntax UID or Certificate Type, and zero image geometry
// for the watermark detector. The verifier must answer `invalid`, never throw,
// and the CLI must still print a report for every file of a batch (exit 1).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempDir, radseal } from '../support/run.js';
import { sealedObject, verifyLib, verifyCli, expectVerdict, writeIn, type Sealed } from './support.js';
import { edit, must, str, us, t, type Part10 } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-values-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
const MAC_ALGORITHM = t(0x0400, 0x0015);
const CERTIFICATE_TYPE = t(0x0400, 0x0110);

const macAlgorithm = (value: string) => (f: Part10) => {
  const item = must(f.dataSet, t(0x4ffe, 0x0001)).items![0]!.elements;
  must(item, MAC_ALGORITHM).value = str(MAC_ALGORITHM, 'CS', value).value;
};
const certificateType = (value: string) => (f: Part10) => {
  for (const item of must(f.dataSet, t(0xfffa, 0xfffa)).items!) must(item.elements, CERTIFICATE_TYPE).value = str(CERTIFICATE_TYPE, 'CS', value).value;
};
const transferSyntax = (value: string) => (f: Part10) => {
  must(f.meta, t(0x0002, 0x0010)).value = str(t(0x0002, 0x0010), 'UI', value).value;
};
const geometry = (tag: number) => (f: Part10) => {
  must(f.dataSet, tag).value = us(tag, 0).value;
};

// Rows or Columns 0 is a change to a signed element, so the honest verdict is `tampered` (the
// signatures fail); what matters is that the watermark check refuses the empty frame instead of throwing.
const CASES: Array<{ name: string; fn: (f: Part10) => void; why: RegExp; wm?: boolean; verdict?: 'tampered' }> = [
  ...INHERITED.map((v) => ({ name: `MAC Algorithm "${v}"`, fn: macAlgorithm(v), why: /mac algorithm|\(0400,0015\)/i })),
  { name: 'Transfer Syntax UID "constructor"', fn: transferSyntax('constructor'), why: /transfer syntax/i },
  { name: 'Certificate Type "__proto__"', fn: certificateType('__proto__'), why: /certificate type|\(0400,0110\)/i },
  { name: 'Rows 0 with a watermark key', fn: geometry(t(0x0028, 0x0010)), why: /watermark not checked: the image is 0 x/, wm: true, verdict: 'tampered' },
  { name: 'Columns 0 with a watermark key', fn: geometry(t(0x0028, 0x0011)), why: /watermark not checked: the image is \d+ x 0/, wm: true, verdict: 'tampered' },
];

const wmKey = new Uint8Array(randomBytes(32));

for (const c of CASES) {
  test(`${c.name}: ${c.verdict ?? 'invalid'}, no throw`, () => {
    expectVerdict(verifyLib(s, edit(s.bytes, c.fn), c.wm ? { watermarkKey: wmKey } : {}), c.verdict ?? 'invalid', c.why);
  });
}

// More names from Object.prototype where a table may be consulted. These values sit in signed
// elements or in the MAC stream, so any signature over them fails too; the point is no throw.
const setIn = (path: (f: Part10) => Part10['dataSet'], tag: number, vr: string, value: string) => (f: Part10) => {
  const e = must(path(f), tag);
  e.value = str(tag, vr, value).value;
};
const top = (f: Part10) => f.dataSet;
const purposeItem = (f: Part10) => must(must(f.dataSet, t(0xfffa, 0xfffa)).items![0]!.elements, t(0x0400, 0x0401)).items![0]!.elements;
const macItem = (f: Part10) => must(f.dataSet, t(0x4ffe, 0x0001)).items![0]!.elements;
const MORE: Array<[string, (f: Part10) => void, boolean]> = [
  ['Specific Character Set "__proto__"', setIn(top, t(0x0008, 0x0005), 'CS', '__proto__'), false],
  ['Specific Character Set "constructor"', setIn(top, t(0x0008, 0x0005), 'CS', 'constructor'), false],
  ['purpose Code Value "__proto__"', setIn(purposeItem, t(0x0008, 0x0100), 'SH', '__proto__'), false],
  ['purpose Coding Scheme Designator "constructor"', setIn(purposeItem, t(0x0008, 0x0102), 'SH', 'constructor'), false],
  ['MAC Calculation Transfer Syntax UID "constructor"', setIn(macItem, t(0x0400, 0x0010), 'UI', 'constructor'), false],
  ['Photometric Interpretation "constructor" with a watermark key', setIn(top, t(0x0028, 0x0004), 'CS', 'constructor'), true],
  ['Bits Allocated 0 with a watermark key', (f) => void (must(f.dataSet, t(0x0028, 0x0100)).value = us(0, 0).value), true],
];
for (const [name, fn, wm] of MORE) {
  test(`${name}: not authentic, no throw`, () => {
    const r = verifyLib(s, edit(s.bytes, fn), wm ? { watermarkKey: wmKey } : {});
    assert.notEqual(r.verdict, 'authentic', r.reasons.join(' | '));
  });
}

test('CLI batch with hostile files among good ones: a JSON report for every file, exit 1', () => {
  const files = [s.file, ...CASES.filter((c) => !c.wm).map((c, i) => writeIn(dir, `hostile-${i}.dcm`, edit(s.bytes, c.fn))), s.file];
  const r = verifyCli(files, s.ids.trustPem);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.reports.length, files.length, 'one report per file');
  assert.equal(r.reports[0]!.verdict, 'authentic');
  assert.equal(r.reports.at(-1)!.verdict, 'authentic', 'the file after the hostile ones is still verified');
  for (const rep of r.reports.slice(1, -1)) assert.equal(rep.verdict, 'invalid', `${rep.file}: ${rep.reasons.join(' | ')}`);
});

test('CLI batch with zero Rows/Columns and --wm-key: a JSON report for every file, exit 1', () => {
  const key = join(dir, 'wm.key');
  assert.equal(radseal('watermark', 'keygen', '--out', key).code, 0);
  const files = CASES.filter((c) => c.wm).map((c, i) => writeIn(dir, `hostile-wm-${i}.dcm`, edit(s.bytes, c.fn)));
  files.push(s.file);
  const r = verifyCli(files, s.ids.trustPem, '--wm-key', key);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.reports.length, files.length);
  for (const rep of r.reports.slice(0, -1)) assert.equal(rep.verdict, 'tampered', `${rep.file}: ${rep.reasons.join(' | ')}`);
});
