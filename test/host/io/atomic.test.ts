// The one atomic write, given its bytes in pieces: the file is their concatenation, an existing
// file is never replaced with noClobber (and keeps its bytes), no temporary file is left, and the
// asynchronous write behaves the same. A draft opened for durable writes is O_DSYNC (as the kernel
// reports it for the open file) and is still written, finished and published byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DraftFile, writeFileAtomic, writeFileAtomicAsync } from '../../../host/io/atomic.js';

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

/** The open flags of this process's descriptor for `path`, as /proc/self/fdinfo shows them (octal). */
function openFlags(path: string): number {
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try { target = readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target !== path) continue;
    const m = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (m) return parseInt(m[1]!, 8);
  }
  throw new Error(`no open descriptor for ${path}`);
}

test('a draft for durable writes is opened O_DSYNC (each write on disk when it returns); one without is not; both publish their bytes', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  for (const durableWrites of [true, false]) {
    const draft = DraftFile.open(dir, { durableWrites });
    assert.equal((openFlags(draft.path) & constants.O_DSYNC) !== 0, durableWrites, `durableWrites ${durableWrites}`);
    const body = randomBytes(9 << 20); // more than the sync interval: written in pieces
    const head = randomBytes(100);
    draft.write(head, 0);
    draft.write(body, head.length);
    const tail = randomBytes(33);
    await draft.finish([{ bytes: tail, position: head.length + body.length }], head.length + body.length + tail.length);
    const out = join(dir, `draft-${durableWrites}.bin`);
    draft.publish(out, { noClobber: true });
    assert.deepEqual(readFileSync(out), Buffer.concat([head, body, tail]));
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.draft.')), []);
});
