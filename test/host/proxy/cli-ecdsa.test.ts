// `radseal proxy` with the device's ECDSA key (the signature DCMTK can check), from the command line
// and from the station config's keys.ecdsa-key/ecdsa-cert: an object sent by storescu comes out with
// a signature `dcmsign --verify` accepts, beside the Ed25519 one `radseal verify` accepts.
// Runs the built CLI (npm run build); network: inside a private namespace (docs/CONTRIBUTING.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDx } from '../net/dicom-fixture.js';
import { freePort } from '../net/storescp.js';
import { radseal, ROOT, tempDir } from '../support/run.js';
import { filesIn, storescu, waitFor } from './fixtures.js';

const CLI = join(ROOT, 'bin', 'radseal.js');
const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'));
const dir = tempDir('radseal-proxy-ecdsa-');

async function sealThrough(args: string[], outbox: string): Promise<string> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI, 'proxy', '--listen', `127.0.0.1:${port}`, '--ae', 'RADPROXY', '--outbox', outbox, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  try {
    await waitFor(`the proxy to listen:\n${out}`, () => out.includes('proxy: listening on') || proc.exitCode !== null, 15000);
    assert.equal(proc.exitCode, null, out);
    const f = join(dir, `in-${port}.dcm`);
    writeFileSync(f, makeDx(1, 128, 96).bytes);
    const sent = await storescu(port, [f]);
    assert.equal(sent.code, 0, sent.out);
    await waitFor('the sealed object in the outbox', () => filesIn(join(outbox, 'ready')).length === 1);
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
  return filesIn(join(outbox, 'ready'))[0]!;
}

function checkBoth(file: string): void {
  const v = radseal('verify', '--trust', join(dir, 'keys', 'device.crt'), file);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const d = spawnSync('dcmsign', ['--verify', '+cf', join(dir, 'keys', 'device-ecdsa.crt'), file], { encoding: 'utf8' });
  const said = d.stdout + d.stderr;
  // DCMTK reads no Ed25519 certificate: the ECDSA signature is the one it checks.
  assert.match(said, /Signature #\d+ UID=[\d.]+\nW: +Signature Verification : OK/, said);
}

test('radseal proxy --ecdsa-key/--ecdsa-cert, or the station config\'s keys.ecdsa-key/ecdsa-cert: DCMTK dcmsign --verify OK on what went through', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 90000 }, async () => {
  assert.equal(radseal('keygen', '--id', 'PROXY-EC', '--ecdsa', '--out', join(dir, 'keys')).code, 0);
  const keys = ['--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt')];
  checkBoth(await sealThrough([...keys, '--ecdsa-key', join(dir, 'keys', 'device-ecdsa.key'), '--ecdsa-cert', join(dir, 'keys', 'device-ecdsa.crt')], join(dir, 'outbox-cli')));

  const config = join(dir, 'radseal.toml');
  writeFileSync(config, `[keys]\nkey = "${join(dir, 'keys', 'device.key')}"\ncert = "${join(dir, 'keys', 'device.crt')}"\necdsa-key = "${join(dir, 'keys', 'device-ecdsa.key')}"\necdsa-cert = "${join(dir, 'keys', 'device-ecdsa.crt')}"\n`);
  checkBoth(await sealThrough(['--config', config], join(dir, 'outbox-config')));

  // One without the other is a usage error, before anything listens.
  const half = spawnSync(process.execPath, [CLI, 'proxy', '--listen', '127.0.0.1:1', '--ae', 'X', ...keys, '--outbox', join(dir, 'o3'), '--ecdsa-key', join(dir, 'keys', 'device-ecdsa.key')], { encoding: 'utf8' });
  assert.equal(half.status, 2, half.stderr);
  assert.match(half.stderr, /--ecdsa-key and --ecdsa-cert go together/);
  // A key that is not the certificate's: refused by name.
  const wrong = spawnSync(process.execPath, [CLI, 'proxy', '--listen', '127.0.0.1:1', '--ae', 'X', ...keys, '--outbox', join(dir, 'o4'), '--ecdsa-key', join(dir, 'keys', 'device.key'), '--ecdsa-cert', join(dir, 'keys', 'device-ecdsa.crt')], { encoding: 'utf8' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /is not an ECDSA P-256 key/);
});
