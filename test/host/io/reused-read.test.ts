// Whole files read one after another into one kept buffer: each read gives exactly that file's
// bytes; the buffer is reused when the file fits; a limit refuses before reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReusedRead } from '../../../host/io/reused-read.js';

test('each read is that file exactly; smaller files reuse the buffer, larger ones grow it, huge ones get their own', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-reused-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = [70_000, 1000, 0, 300_000, 5].map((n, i) => {
    const bytes = randomBytes(n);
    const path = join(dir, `f${i}`);
    writeFileSync(path, bytes);
    return { path, bytes };
  });
  const r = new ReusedRead(200_000);
  const buffers: ArrayBufferLike[] = [];
  for (const f of files) {
    const got = r.read(f.path);
    assert.ok(Buffer.from(got).equals(f.bytes), f.path);
    buffers.push(got.buffer);
  }
  assert.equal(buffers[1], buffers[0], 'a smaller file reuses the buffer');
  assert.notEqual(buffers[3], buffers[0], 'a file over keepMax gets its own');
  assert.equal(buffers[4], buffers[0], 'and the kept buffer is still there after it');
  assert.throws(() => r.read(files[0]!.path, 69_999), /larger than the 69999-byte limit; not read/);
  assert.throws(() => r.read(join(dir, 'missing')), /ENOENT/);
});

test('readAsync gives the same bytes into the same kept buffer, refuses over the limit and a missing file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-reused-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = [70_000, 1000, 300_000, 0].map((n, i) => {
    const bytes = randomBytes(n);
    const path = join(dir, `f${i}`);
    writeFileSync(path, bytes);
    return { path, bytes };
  });
  const r = new ReusedRead(200_000);
  const got = [];
  for (const f of files) {
    const bytes = await r.readAsync(f.path);
    assert.ok(Buffer.from(bytes).equals(f.bytes), f.path);
    got.push(bytes.buffer);
  }
  assert.equal(got[1], got[0], 'a smaller file reuses the buffer');
  assert.notEqual(got[2], got[0], 'a file over keepMax gets its own');
  assert.ok(Buffer.from(r.read(files[1]!.path)).equals(files[1]!.bytes), 'sync and async reads share the kept buffer');
  await assert.rejects(r.readAsync(files[0]!.path, 69_999), /larger than the 69999-byte limit; not read/);
  await assert.rejects(r.readAsync(join(dir, 'missing')), /ENOENT/);
});
