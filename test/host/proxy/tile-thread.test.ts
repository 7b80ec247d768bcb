// The proxy's tile thread: its table equals the one made on this thread, and it never keeps a
// process alive (a stopped proxy must exit even though the thread was started with the service).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tempDir } from '../support/run.js';
import { tileHashes } from '../../../host/core/tiles.js';
import { hashBandOffThread } from '../../../host/proxy/tile-thread.js';

test('a band hashed on the tile thread gives the table made here', async () => {
  const rows = 128, cols = 96, size = 32;
  const band = new Uint8Array(rows * cols * 2);
  for (let i = 0; i < band.length; i++) band[i] = (i * 131 + (i >> 7)) & 0xff;
  const expected = tileHashes(band, rows, cols, size);
  const got = await hashBandOffThread(band.slice(), rows, cols, size);
  assert.ok(got, 'the thread answered');
  assert.deepEqual(Buffer.from(got), Buffer.from(expected));
});

test('a process that started the tile thread exits by itself, whether or not a band was hashed (the built module, as the CLI runs it)', () => {
  const dir = tempDir('radseal-tile-thread-');
  const url = JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'host', 'proxy', 'tile-thread.js')).href);
  const scripts = {
    // A proxy stopped before any object arrived: the thread was only started.
    warmed: `const m = await import(${url}); m.warmTileThread(); console.log('warmed');`,
    hashed: `const m = await import(${url}); m.warmTileThread();
      console.log((await m.hashBandOffThread(new Uint8Array(64 * 64 * 2), 64, 64, 32)) ? 'hashed' : 'fallback');`,
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
