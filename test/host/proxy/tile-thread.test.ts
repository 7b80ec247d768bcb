// The proxy's tile thread: its table and pixel hash equal the ones made on this thread, a pixel hash
// it did not see whole is none (never a wrong one), and it never keeps a process alive (a stopped
// proxy must exit even though the thread was started with the service).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tempDir } from '../support/run.js';
import { createHash } from 'node:crypto';
import { tileHashes } from '../../../host/core/tiles.js';
import { PixelBandStream } from '../../../host/proxy/tile-thread.js';
import { PixelShas } from '../../../host/proxy/band-hash.js';

function band(rows: number, cols: number, seed: number): Uint8Array {
  const b = new Uint8Array(rows * cols * 2);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + (i >> 7) + seed * 17) & 0xff;
  return b;
}

test('bands hashed on the tile thread give the tables made here, and the SHA-256 of them all, also with two objects interleaved', async () => {
  const rows = 128, cols = 96, size = 32;
  const a = [band(rows, cols, 1), band(rows, cols, 2), band(64, cols, 3)];
  const b = [band(rows, cols, 4), band(rows, cols, 5)];
  const sa = new PixelBandStream(), sb = new PixelBandStream();
  const tables = [sa.band(a[0]!.slice(), rows, cols, size), sb.band(b[0]!.slice(), rows, cols, size), sa.band(a[1]!.slice(), rows, cols, size),
    sb.band(b[1]!.slice(), rows, cols, size), sa.band(a[2]!.slice(), 64, cols, size)];
  const [shaA, shaB] = await Promise.all([sa.end(), sb.end()]);
  const got = await Promise.all(tables);
  [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!].forEach((x, i) => {
    assert.ok(got[i], `band ${i}: the thread answered`);
    assert.deepEqual(Buffer.from(got[i]!), Buffer.from(tileHashes(x, x.length / (cols * 2), cols, size)), `band ${i}`);
  });
  assert.deepEqual(Buffer.from(shaA!), createHash('sha256').update(Buffer.concat(a)).digest());
  assert.deepEqual(Buffer.from(shaB!), createHash('sha256').update(Buffer.concat(b)).digest());
  assert.throws(() => sa.band(band(rows, cols, 6), rows, cols, size), /after the end/);
});

test('a pixel hash the thread did not see from the first band, or given up, or pushed out by too many objects at once, is none', () => {
  const shas = new PixelShas();
  const job = (stream: number, first: boolean) => ({ kind: 'band' as const, id: 1, stream, first, band: band(32, 32, stream), rows: 32, cols: 32, size: 32 });
  // Stream 1 begun elsewhere (a thread that stopped mid-object): bands here, but no hash.
  assert.ok(shas.run(job(1, false)).hashes);
  assert.equal(shas.run({ kind: 'end', id: 2, stream: 1 }).sha256, null);
  shas.run(job(2, true));
  assert.equal(shas.run({ kind: 'end', id: 3, stream: 2, abandon: true }).sha256, null);
  assert.equal(shas.run({ kind: 'end', id: 4, stream: 2 }).sha256, null, 'an ended stream is gone');
  for (let s = 100; s < 100 + 65; s++) shas.run(job(s, true));
  assert.equal(shas.run({ kind: 'end', id: 5, stream: 100 }).sha256, null, 'the oldest of 65 open streams was dropped');
  assert.deepEqual(Buffer.from(shas.run({ kind: 'end', id: 6, stream: 164 }).sha256!), createHash('sha256').update(band(32, 32, 164)).digest());
  // A band the core cannot hash (rows not a whole number of tiles is fine; a wrong length is not): no table, the hash goes on.
  const bad = shas.run({ ...job(200, true), band: new Uint8Array(10) });
  assert.equal(bad.hashes, null);
});

test('a process that started the tile thread exits by itself, whether or not a band was hashed (the built module, as the CLI runs it)', () => {
  const dir = tempDir('radseal-tile-thread-');
  const url = JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'host', 'proxy', 'tile-thread.js')).href);
  const scripts = {
    // A proxy stopped before any object arrived: the thread was only started.
    warmed: `const m = await import(${url}); m.warmTileThread(); console.log('warmed');`,
    hashed: `const m = await import(${url}); m.warmTileThread();
      const s = new m.PixelBandStream(); const t = s.band(new Uint8Array(64 * 64 * 2), 64, 64, 32);
      console.log((await t) && (await s.end()) ? 'hashed' : 'fallback');`,
  };
  for (const [name, script] of Object.entries(scripts)) {
    // A script file, not --eval: the thread inherits the process's flags, and --input-type would break it.
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `${name}: still running after 60 s, the tile thread kept the process alive\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), name);
  }
});
