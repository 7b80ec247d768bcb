// Start-up loads only what a command needs (on the built CLI): `radseal --help` and a verify
// of one object must not load the ASN.1, CMS and curve libraries, the station config parser,
// the serial port or the image codecs. Checked by recording every module the process loads, on
// the modules tsc wrote (dist/host/cli/main.js): the start-up bundle bin/radseal.js runs holds
// the same static graph in one file, and is checked to behave the same.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, radseal, run, tempDir } from '../support/run.js';

const HEAVY = ['@peculiar/', 'pkijs', 'asn1js', '@noble/curves', 'ajv', 'smol-toml', 'serialport', 'fast-png', 'jpeg-js', '@cornerstonejs/', 'jpeg-lossless-decoder-js'];
/** Also kept off a plain seal: the JavaScript Ed25519 (node:crypto signs) and the watermark code. */
const OFF_THE_SEAL = [...HEAVY, '@noble/'];
const ownModules = (modules: string[]) => modules.filter((m) => m.includes('/dist/host/'));

const MODULES = join(ROOT, 'dist/host/cli/main.js');
const BUNDLE = join(ROOT, 'dist/host/cli/main.bundle.js');

/** The modules the built CLI (`entry`: its modules, or bin/radseal.js) loads for `args`, and its exit code. */
function loaded(args: string[], entry = MODULES): { code: number; stdout: string; modules: string[] } {
  const trace = join(tempDir('radseal-trace-'), 'modules.txt');
  writeFileSync(trace, '');
  const r = run('/usr/bin/env', [`RADSEAL_LOAD_TRACE=${trace}`, process.execPath, '--import', join(ROOT, 'test/host/cli/load-trace.mjs'), entry, ...args]);
  return { code: r.code, stdout: r.stdout, modules: readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
}

const heavyIn = (modules: string[], heavy = HEAVY) => heavy.filter((h) => modules.some((m) => m.includes(`node_modules/${h}`)));

const dir = tempDir('radseal-startup-');
let sealed: string;
let trust: string;

before(() => {
  const keys = join(dir, 'keys');
  assert.equal(radseal('keygen', '--id', 'START-DX', '--out', keys).code, 0);
  trust = join(keys, 'device.crt');
  writeFileSync(join(dir, 'f.raw'), Buffer.alloc(64 * 64 * 2, 3));
  sealed = join(dir, 's.dcm');
  const r = radseal('seal', '--key', join(keys, 'device.key'), '--cert', trust, '--in', join(dir, 'f.raw'), '--rows', '64', '--cols', '64',
    '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', sealed);
  assert.equal(r.code, 0, r.stderr);
});

test('the module trace sees what a command loads (the trace itself works)', () => {
  const keygen = loaded(['keygen', '--id', 'TRACE-DX', '--out', join(tempDir(), 'k')]);
  assert.equal(keygen.code, 0);
  assert.ok(keygen.modules.some((m) => m.includes('node_modules/@peculiar/asn1-x509')), 'issuing a certificate loads the ASN.1 library');
});

test('radseal --help loads no heavy library', () => {
  const r = loaded(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /verify \[options\] <paths\.\.\.>/);
  assert.deepEqual(heavyIn(r.modules), []);
  // Option definitions only: no service, network, DICOM or key code of any command.
  const work = ownModules(r.modules).filter((m) => /\/host\/(capture|net\/(association|tls|mpps|forwarder|worklist)|dicom|keys\/(pkcs11|certs|ed25519)|seal\/(device|seal)|ingest)\b/.test(m));
  assert.deepEqual(work, []);
  assert.ok(!r.modules.includes('node:tls') && !r.modules.includes('node:net'), 'no socket modules');
});

test('verifying one object loads no ASN.1, CMS or curve library, no config parser, no codec', () => {
  const r = loaded(['verify', '--trust', trust, sealed]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /AUTHENTIC/);
  assert.deepEqual(heavyIn(r.modules), []);
  // The watermark detector and its image code load only when --wm-key asks for the site mark.
  assert.deepEqual(r.modules.filter((m) => /\/host\/(watermark|image)\/|watermark-check/.test(m)), []);
});

test('sealing a raw frame loads no ASN.1, CMS or curve library, no board schema, no codec, no watermark code', () => {
  const keys = join(dir, 'keys');
  const r = loaded(['seal', '--key', join(keys, 'device.key'), '--cert', trust, '--in', join(dir, 'f.raw'), '--rows', '64', '--cols', '64',
    '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', join(tempDir(), 'plain.dcm')]);
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(heavyIn(r.modules, OFF_THE_SEAL), []);
  assert.deepEqual(ownModules(r.modules).filter((m) => /\/(watermark|boards|image)\/|\/seal\/watermark\.js|tsa-client/.test(m)), []);
});

test('the start-up bundle (npm run build) is what bin/radseal.js runs, and it behaves as the modules do', (t) => {
  if (!existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < statSync(MODULES).mtimeMs) {
    t.skip('no start-up bundle newer than the modules (npm run build:host makes one)');
    return;
  }
  const viaBin = loaded(['--help'], join(ROOT, 'bin/radseal.js'));
  assert.equal(viaBin.code, 0);
  assert.ok(viaBin.modules.some((m) => m.endsWith('/dist/host/cli/main.bundle.js')), 'bin/radseal.js runs the bundle');
  assert.ok(!viaBin.modules.some((m) => m.endsWith('/dist/host/cli/main.js')), 'and not the modules beside it');
  assert.equal(viaBin.stdout, loaded(['--help']).stdout);
  // What a command loads when it runs stays outside the bundle, loaded on use as before.
  const verify = loaded(['verify', '--trust', trust, sealed], join(ROOT, 'bin/radseal.js'));
  assert.equal(verify.code, 0, verify.stdout);
  assert.match(verify.stdout, /AUTHENTIC/);
  assert.deepEqual(heavyIn(verify.modules), []);
  const keygen = loaded(['keygen', '--id', 'BUNDLE-DX', '--out', join(tempDir(), 'k')], join(ROOT, 'bin/radseal.js'));
  assert.equal(keygen.code, 0);
  assert.ok(keygen.modules.some((m) => m.includes('node_modules/@peculiar/asn1-x509')), 'issuing a certificate loads the ASN.1 library from its own files');
});
