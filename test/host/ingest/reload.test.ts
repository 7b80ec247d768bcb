// A long-running ingest gateway takes a new trust bundle on SIGHUP (how a PACS
// administrator installs a fresh CRL or a newly issued device) without a
// restart, and keeps the previous bundle when the new one does not load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, radseal, tempDir } from '../support/run.js';
import { makePhantom } from '../../../host/image/phantom.js';

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('ingest --watch: SIGHUP reloads the trust bundle; a broken bundle is refused and the old one kept', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  assert.equal(radseal('keygen', '--id', 'DX-RELOAD', '--out', join(dir, 'dev')).code, 0);
  assert.equal(radseal('keygen', '--id', 'DX-OTHER', '--out', join(dir, 'other')).code, 0);
  const frame = makePhantom({ rows: 128, cols: 128, bitsStored: 12, seed: 5 });
  writeFileSync(join(dir, 'f.raw'), new Uint8Array(frame.pixels.buffer));
  const sealed = join(dir, 'sealed.dcm');
  assert.equal(radseal('seal', '--key', join(dir, 'dev/device.key'), '--cert', join(dir, 'dev/device.crt'), '--in', join(dir, 'f.raw'),
    '--rows', '128', '--cols', '128', '--bits-stored', '12', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', sealed).code, 0);

  const trust = join(dir, 'trust.pem');
  copyFileSync(join(dir, 'other/device.crt'), trust); // the wrong device: our object is untrusted
  const [inbox, store, quarantine] = ['inbox', 'store', 'quarantine'].map((d) => join(dir, d));
  const gw = spawn(process.execPath, [join(ROOT, 'bin/radseal.js'), 'ingest', '--watch', inbox, '--trust', trust, '--store', store,
    '--quarantine', quarantine, '--audit', join(dir, 'audit.log'), '--on-failure', 'flag'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  gw.stdout.on('data', (d) => (out += d));
  gw.stderr.on('data', (d) => (out += d));
  try {
    await until('the gateway to start', () => /watching/.test(out));
    const dcmIn = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.dcm')).length;
    copyFileSync(sealed, join(inbox, 'a.dcm'));
    await until('the first object to be quarantined', () => /a\.dcm: untrusted → quarantined/.test(out));

    // A broken bundle: refused, the old one stays in force.
    writeFileSync(trust, 'not a certificate');
    gw.kill('SIGHUP');
    await until('the reload to fail', () => /reload failed, keeping the previous trust bundle/.test(out));

    copyFileSync(join(dir, 'dev/device.crt'), trust);
    gw.kill('SIGHUP');
    await until('the reload', () => /reloaded .*trust\.pem: 1 certificate/.test(out));
    copyFileSync(sealed, join(inbox, 'b.dcm'));
    await until('the second object to be stored', () => /b\.dcm: authentic → stored/.test(out));
    assert.equal(dcmIn(store), 1);
    assert.equal(dcmIn(quarantine), 1);
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
  }
  assert.equal(radseal('audit', 'verify', join(dir, 'audit.log')).code, 0, 'the audit chain holds across reloads');
});
