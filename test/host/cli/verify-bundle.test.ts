// radseal verify as the build ships it: its action and the verifier from their bundle
// (dist/host/cli/verify-action.bundle.js and its chunks), the pool's workers from theirs
// (dist/host/ingest/pool/verify-worker.bundle.js), each giving what the modules tsc wrote give;
// and bin/radseal.js passing over a verify bundle older than the modules.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, radseal, run, tempDir } from '../support/run.js';
import { standInBin } from './stand-in-bin.js';

const MODULES = join(ROOT, 'dist/host/cli/main.js');
const BUNDLES = ['dist/host/cli/main.bundle.js', 'dist/host/cli/verify-action.bundle.js', 'dist/host/ingest/pool/verify-worker.bundle.js'].map((f) => join(ROOT, f));
const bundled = () => existsSync(MODULES) && BUNDLES.every((b) => existsSync(b) && statSync(b).mtimeMs >= statSync(MODULES).mtimeMs);

/** `node ENTRY args` with every module it loads recorded (test/host/cli/load-trace.mjs). */
function traced(entry: string, args: string[]): { code: number; stdout: string; stderr: string; modules: string[] } {
  const trace = join(tempDir('radseal-trace-'), 'modules.txt');
  writeFileSync(trace, '');
  const r = run('/usr/bin/env', [`RADSEAL_LOAD_TRACE=${trace}`, process.execPath, '--import', join(ROOT, 'test/host/cli/load-trace.mjs'), entry, ...args]);
  return { ...r, modules: readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
}

const dir = tempDir('radseal-verify-bundle-');
const keys = join(dir, 'keys');
const trust = join(dir, 'trust.pem');
const tree = join(dir, 'tree');

before(() => {
  assert.equal(radseal('keygen', '--id', 'BUNDLE-VERIFY-DX', '--out', keys, '--ecdsa').code, 0);
  writeFileSync(trust, readFileSync(join(keys, 'device.crt'), 'utf8') + readFileSync(join(keys, 'device-ecdsa.crt'), 'utf8'));
  const px = Buffer.alloc(96 * 80 * 2);
  for (let i = 0; i < 96 * 80; i++) px.writeUInt16LE((i * 37) % 4096, i * 2);
  writeFileSync(join(dir, 'f.raw'), px);
  mkdirSync(join(tree, 'sub'), { recursive: true });
  // With the ECDSA P-256 signature that DCMTK checks: the verifier's P-256 path runs too.
  const r = radseal('seal', '--key', join(keys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', join(dir, 'f.raw'), '--rows', '96', '--cols', '80',
    '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--serial', '3', '--out', join(tree, 'sealed.dcm'),
    '--ecdsa-key', join(keys, 'device-ecdsa.key'), '--ecdsa-cert', join(keys, 'device-ecdsa.crt'));
  assert.equal(r.code, 0, r.stderr);
  const tampered = readFileSync(join(tree, 'sealed.dcm'));
  tampered[tampered.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57])) + 12 + 1000]! ^= 0x04; // a pixel (Pixel Data, OW)
  writeFileSync(join(tree, 'sub', 'tampered'), tampered);
  copyFileSync(join(tree, 'sealed.dcm'), join(tree, 'sub', 'copy'));
  writeFileSync(join(tree, 'notes.txt'), 'not DICOM\n');
});

test('one object: the verify bundle runs, loads none of the verifier\'s modules from their own files, and says what the modules say', (t) => {
  if (!bundled()) return t.skip('no bundles newer than the modules (npm run build:host makes them)');
  const object = join(tree, 'sealed.dcm');
  const viaBin = traced(join(ROOT, 'bin/radseal.js'), ['verify', '--trust', trust, object]);
  assert.equal(viaBin.code, 0, viaBin.stderr);
  assert.match(viaBin.stdout, /AUTHENTIC/);
  assert.match(viaBin.stdout, /ECDSA-P256 .* valid, trusted/);
  assert.ok(viaBin.modules.some((m) => m.endsWith('/dist/host/cli/verify-action.bundle.js')), 'the verify bundle is loaded');
  const ownFiles = viaBin.modules.filter((m) => /\/dist\/host\/(ingest|dicom|io)\/|\/cli\/(format|verify-settings|verify-action)\.js$/.test(m));
  assert.deepEqual(ownFiles, [], 'no module of the verify path is loaded from its own file');
  assert.ok(!viaBin.modules.some((m) => m.includes('node_modules/@noble/curves')), 'no curve library: P-256 is checked by node:crypto');
  const viaModules = traced(MODULES, ['verify', '--trust', trust, object]);
  assert.equal(viaModules.code, 0, viaModules.stderr);
  assert.equal(viaBin.stdout, viaModules.stdout);
  for (const bad of [join(tree, 'sub', 'tampered'), join(tree, 'notes.txt'), join(tree, 'missing.dcm')]) {
    const a = run(process.execPath, [join(ROOT, 'bin/radseal.js'), 'verify', '--json', '--trust', trust, bad]);
    const b = run(process.execPath, [MODULES, 'verify', '--json', '--trust', trust, bad]);
    assert.equal(a.code, b.code, bad);
    assert.notEqual(a.code, 0, bad);
    assert.equal(a.stdout, b.stdout, bad);
  }
});

test('a folder: the workers run their bundle and every report equals the one the modules give, and the one this thread gives', (t) => {
  if (!bundled()) return t.skip('no bundles newer than the modules (npm run build:host makes them)');
  const viaBin = run(process.execPath, [join(ROOT, 'bin/radseal.js'), 'verify', '--json', '--workers', '2', '--trust', trust, tree]);
  const viaModules = run(process.execPath, [MODULES, 'verify', '--json', '--workers', '2', '--trust', trust, tree]);
  const inThread = run(process.execPath, [join(ROOT, 'bin/radseal.js'), 'verify', '--json', '--workers', '0', '--trust', trust, tree]);
  assert.equal(viaBin.code, 1, viaBin.stderr);
  const verdicts = viaBin.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; verdict: string });
  assert.deepEqual(verdicts.map((v) => [v.file.slice(tree.length + 1), v.verdict]), [['sealed.dcm', 'authentic'], ['sub/copy', 'authentic'], ['sub/tampered', 'tampered']]);
  assert.equal(viaBin.stdout, viaModules.stdout);
  assert.equal(viaBin.stdout, inThread.stdout);
  // The trace sees the worker threads' modules too.
  const traced2 = traced(join(ROOT, 'bin/radseal.js'), ['verify', '--workers', '2', '--trust', trust, tree]);
  assert.ok(traced2.modules.some((m) => /verify-chunk-verify-pool-/.test(m)), 'the pool from the verify bundle\'s chunk');
  assert.equal(traced2.modules.filter((m) => m.endsWith('/dist/host/ingest/pool/verify-worker.bundle.js')).length, 2, 'each worker from its bundle');
  assert.ok(!traced2.modules.some((m) => /\/dist\/host\/(ingest|dicom|io)\//.test(m) && !m.endsWith('verify-worker.bundle.js')), 'no module of the verify path from its own file');
  assert.ok(!traced2.modules.some((m) => /verify-chunk-verify-[A-Z0-9]+\.js$/.test(m)), 'this thread does not load the verifier when workers verify');
});

test('bin/radseal.js passes over a verify bundle older than the modules (a later tsc run)', () => {
  const { said, age, ran } = standInBin('radseal-bin-verify-');
  for (const f of ['main.js', 'main.bundle.js', 'seal-action.bundle.js']) said(f);
  age('main.js', 60);
  assert.equal(ran(), 'main.js', 'no verify bundle: the modules');
  said('verify-action.bundle.js');
  assert.equal(ran(), 'main.bundle.js', 'every bundle newer than the modules: the bundle');
  age('verify-action.bundle.js', 120);
  assert.equal(ran(), 'main.js', 'a verify bundle older than the modules: the modules');
});
