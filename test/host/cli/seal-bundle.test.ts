// `radseal seal` from the start-up bundle: its action's modules come from the seal's own bundle
// (scripts/bundle-cli.mjs), not from thirty files under dist/, and the object it writes is the one
// the modules write (it verifies, with the watermark too, and DCMTK checks its ECDSA signature).
// bin/radseal.js runs the bundles only when both exist and are newer than the modules.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, radseal, run, tempDir } from '../support/run.js';
import { standInBin } from './stand-in-bin.js';

const MODULES = join(ROOT, 'dist/host/cli/main.js');
const BUNDLES = ['main.bundle.js', 'seal-action.bundle.js', 'verify-action.bundle.js'].map((f) => join(ROOT, 'dist/host/cli', f));
const bundled = () => existsSync(MODULES) && BUNDLES.every((b) => existsSync(b) && statSync(b).mtimeMs >= statSync(MODULES).mtimeMs);

/** The modules `node bin/radseal.js args` loads (test/host/cli/load-trace.mjs), its exit code and output. */
function traced(args: string[]): { code: number; stdout: string; stderr: string; modules: string[] } {
  const trace = join(tempDir('radseal-trace-'), 'modules.txt');
  writeFileSync(trace, '');
  const r = run('/usr/bin/env', [`RADSEAL_LOAD_TRACE=${trace}`, process.execPath, '--import', join(ROOT, 'test/host/cli/load-trace.mjs'), join(ROOT, 'bin/radseal.js'), ...args]);
  return { ...r, modules: readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
}

const dir = tempDir('radseal-seal-bundle-');
const keys = join(dir, 'keys');
const frame = join(dir, 'f.raw');
const sealArgs = (out: string, ...more: string[]) => ['seal', '--key', join(keys, 'device.key'), '--cert', join(keys, 'device.crt'), '--in', frame,
  '--rows', '96', '--cols', '80', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--serial', '5', '--out', out, ...more];

before(() => {
  assert.equal(radseal('keygen', '--id', 'BUNDLE-SEAL-DX', '--out', keys, '--ecdsa').code, 0);
  const px = Buffer.alloc(96 * 80 * 2);
  for (let i = 0; i < 96 * 80; i++) px.writeUInt16LE((i * 37) % 4096, i * 2);
  writeFileSync(frame, px);
});

test('the seal runs from its bundle and writes an object that verifies (Ed25519 and, by DCMTK, ECDSA)', (t) => {
  if (!bundled()) return t.skip('no bundles newer than the modules (npm run build:host makes them)');
  const out = join(dir, 'plain.dcm');
  const r = traced(sealArgs(out, '--ecdsa-key', join(keys, 'device-ecdsa.key'), '--ecdsa-cert', join(keys, 'device-ecdsa.crt')));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.modules.some((m) => m.endsWith('/dist/host/cli/seal-action.bundle.js')), 'the seal bundle is loaded');
  const ownFiles = r.modules.filter((m) => /\/dist\/host\/(seal|core|dicom|keys|io)\//.test(m));
  assert.deepEqual(ownFiles, [], 'no module of the seal is loaded from its own file');
  assert.ok(!r.modules.some((m) => /seal-chunk-(watermark|png|board|tsa-client)-/.test(m)), 'what the seal loads on use stays unloaded');
  const v = radseal('verify', '--trust', join(keys, 'device.crt'), out);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /AUTHENTIC/);
  const dcmsign = run('dcmsign', ['--verify', out]);
  // DCMTK cannot check Ed25519; the ECDSA signature's value checks out (its self-signed certificate is not in DCMTK's trust).
  assert.match(dcmsign.stdout + dcmsign.stderr, /Signature #3 .*\n.*signature is OK/, dcmsign.stdout + dcmsign.stderr);
});

test('a seal with the site watermark loads the watermark from a chunk of the same bundle, marks the frame and verifies', (t) => {
  if (!bundled()) return t.skip('no bundles newer than the modules (npm run build:host makes them)');
  const wm = join(dir, 'site.wmkey');
  assert.equal(radseal('watermark', 'keygen', '--out', wm).code, 0);
  const out = join(dir, 'marked.dcm');
  const r = traced(sealArgs(out, '--wm-key', wm));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.modules.some((m) => /\/dist\/host\/cli\/seal-chunk-watermark-/.test(m)), 'the watermark chunk is loaded');
  assert.deepEqual(r.modules.filter((m) => /\/dist\/host\/(seal|core|watermark)\//.test(m)), [], 'and no second copy of the core or watermark modules');
  const v = radseal('verify', '--trust', join(keys, 'device.crt'), '--wm-key', wm, out);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /AUTHENTIC/);
});

test('bin/radseal.js runs the bundles only when both are there and newer than the modules', () => {
  const { said, age, ran, runBin } = standInBin('radseal-bin-');
  assert.match(runBin().stderr, /not built yet/);
  said('main.js');
  assert.equal(ran(), 'main.js', 'no bundle: the modules');
  said('main.bundle.js');
  assert.equal(ran(), 'main.js', 'the start-up bundle without the seal bundle: the modules');
  said('seal-action.bundle.js');
  said('verify-action.bundle.js');
  age('main.js', 60);
  assert.equal(ran(), 'main.bundle.js', 'every bundle newer: the bundle');
  age('seal-action.bundle.js', 120);
  assert.equal(ran(), 'main.js', 'a seal bundle older than the modules (a later tsc run): the modules');
});
