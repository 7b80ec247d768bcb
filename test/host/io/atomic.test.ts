// The one atomic write, given its bytes in pieces: the file is their concatenation, an existing
// file is never replaced with noClobber (and keeps its bytes), no temporary file is left, and the
// asynchronous write behaves the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicAsync } from '../../../host/io/atomic.js';

const dir = mkdtempSync(join(tmpdir(), 'radseal-atomic-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const pieces = () => [randomBytes(300), new Uint8Array(0), randomBytes(70_001).subarray(1), randomBytes(5)];
const joined = (ps: Uint8Array[]) => Buffer.concat(ps);

test('pieces are written one after the other: the file is their concatenation, mode as asked', async () => {
  const ps = pieces();
  writeFileAtomic(join(dir, 'a.bin'), ps, { mode: 0o600 });
  assert.deepEqual(readFileSync(join(dir, 'a.bin')), joined(ps));
  assert.equal(statSync(join(dir, 'a.bin')).mode & 0o777, 0o600);
  const qs = pieces();
  await writeFileAtomicAsync(join(dir, 'b.bin'), qs);
  assert.deepEqual(readFileSync(join(dir, 'b.bin')), joined(qs));
  writeFileAtomic(join(dir, 'empty.bin'), []);
  assert.equal(statSync(join(dir, 'empty.bin')).size, 0);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
});

test('noClobber with pieces: an existing file is refused and keeps its bytes; without it, replaced whole', async () => {
  const path = join(dir, 'kept.bin');
  const first = pieces();
  writeFileAtomic(path, first, { noClobber: true });
  assert.throws(() => writeFileAtomic(path, pieces(), { noClobber: true }), /EEXIST/);
  await assert.rejects(writeFileAtomicAsync(path, pieces(), { noClobber: true }), /EEXIST/);
  assert.deepEqual(readFileSync(path), joined(first));
  const next = [randomBytes(10)];
  writeFileAtomic(path, next);
  assert.deepEqual(readFileSync(path), joined(next), 'replaced by a shorter file: nothing of the old one left');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
});
