// `radseal verify` (the CLI, as a PACS administrator runs it) on DICOM files radseal has never seen
// and never signed (but one, signed by DCMTK dcmsign with a key radseal does not trust): pydicom's own
// test and character-set files, vendor quirks, byte-level quirks, DCMTK encodings
// (test/host/support/foreign_corpus.py, made at test time). None is authentic, each
// gets a report with a reason, the exit status says "not authentic" or "unreadable", and nothing
// crashes or reports an internal error.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { PYTHON, ROOT, jsonLines, radseal, run, tempDir } from '../support/run.js';

const dir = tempDir('radseal-foreign-verify-');
const corpus = join(dir, 'corpus');
let files: string[] = [];
let trust = '';

interface Report { file: string; verdict: string; reasons: string[]; signatures: unknown[] }
let reports: Report[] = [];
let exit = -1;
let stderr = '';

before(async () => {
  const full = process.env.RADSEAL_FOREIGN_FULL === '1';
  const g = run(PYTHON, [join(ROOT, 'test', 'host', 'support', 'foreign_corpus.py'), corpus, ...(full ? [] : ['--quick'])]);
  assert.equal(g.code, 0, g.stderr);
  // Every file, the bare data sets (no preamble, no meta) and their Part 10 twins included.
  files = readdirSync(corpus).filter((f) => f !== 'manifest.json').sort().map((f) => join(corpus, f));
  trust = (await generateDeviceKey('FOREIGN-VERIFY', join(dir, 'keys'))).cert;
  const v = radseal('verify', '--trust', trust, '--json', '--no-progress', ...files);
  exit = v.code;
  stderr = v.stderr;
  reports = jsonLines<Report>(v.stdout);
});

test('never authentic, never an internal error: one report with a reason per foreign file, exit status not 0', () => {
  assert.ok(files.length >= 100, `${files.length} files`);
  assert.notEqual(exit, 0, 'no file is authentic');
  assert.ok(exit === 1 || exit === 2, `exit ${exit}`);
  assert.doesNotMatch(stderr, /internal|TypeError|RangeError|\n\s+at .*:\d+:\d+/);
  const byFile = new Map(reports.map((r) => [r.file, r]));
  // Signed by another signer (DCMTK dcmsign, its own RSA key): one valid signature, not trusted here.
  const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as Record<string, { expect?: string }>;
  const signedElsewhere = new Set(Object.keys(manifest).filter((n) => manifest[n]!.expect === 'untouched').map((n) => join(corpus, n)));
  assert.ok(signedElsewhere.size >= 1);
  for (const f of signedElsewhere) {
    const r = byFile.get(f)!;
    assert.equal(r.verdict, 'untrusted', `${f}: ${r.reasons.join('; ')}`);
    assert.equal(r.signatures.length, 1);
    byFile.delete(f);
  }
  const problems: string[] = [];
  for (const f of files.filter((x) => !signedElsewhere.has(x))) {
    const r = byFile.get(f);
    if (!r) problems.push(`${f}: no report`);
    else if (r.verdict === 'authentic' || r.verdict === 'untrusted') problems.push(`${f}: ${r.verdict}`);
    else if (!r.reasons.length) problems.push(`${f}: ${r.verdict} without a reason`);
    else if (r.reasons.some((x) => /internal/i.test(x))) problems.push(`${f}: ${r.reasons.join('; ')}`);
    else if (r.signatures.length) problems.push(`${f}: signatures found in a file nobody signed`);
  }
  assert.deepEqual(problems, []);
  // Most are readable DICOM without a signature, and are called exactly that.
  const unsigned = reports.filter((r) => r.verdict === 'unsigned');
  assert.ok(unsigned.length >= 70, `${unsigned.length} unsigned`);
  for (const r of unsigned) assert.match(r.reasons.join('\n'), /no Digital Signatures Sequence/, r.file);
});

test('the same file in the text report: says UNSIGNED and why, one line per reason', () => {
  const f = join(corpus, 'q-charset-japanese.dcm');
  const v = radseal('verify', '--trust', trust, f);
  assert.equal(v.code, 1, v.stdout + v.stderr);
  assert.match(v.stdout, /q-charset-japanese\.dcm: UNSIGNED\n\s+- no Digital Signatures Sequence/);
});

test('an unsigned file whose structure verify also objects to (a TIFF preamble, Data Set Trailing Padding, a meta header disagreeing with the data set) still says it carries no signature', () => {
  const silent = reports.filter((r) => r.signatures.length === 0 && !r.reasons.some((x) => /no Digital Signatures Sequence|the data set cannot be read/.test(x)));
  assert.deepEqual(silent.map((r) => `${r.file.slice(corpus.length + 1)}: ${r.verdict}: ${r.reasons[0]}`), []);
});

test('the corpus manifest names every file it made (the generator and this test agree)', () => {
  const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  for (const name of Object.keys(manifest)) assert.ok(files.includes(join(corpus, name)), name);
});
