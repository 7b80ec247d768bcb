// makeDirs: mkdir -p that always ends, where Node's recursive mkdir spins forever (a child of a
// procfs folder). Run in a child process with a deadline, so a regression fails instead of hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from '../../../host/io/dirs.js';

const dir = mkdtempSync(join(tmpdir(), 'radseal-dirs-'));

test('makes missing parents with the mode asked for; a folder already there is fine', () => {
  const deep = join(dir, 'a', 'b', 'c');
  makeDirs(deep, 0o700);
  assert.ok(statSync(deep).isDirectory());
  assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700);
  makeDirs(deep, 0o700);
  makeDirs(dir);
});

test('a file in the way: the errors Node gives (EEXIST for the folder itself, ENOTDIR below a file)', () => {
  const file = join(dir, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => makeDirs(file), { code: 'EEXIST' });
  assert.throws(() => makeDirs(join(file, 'below')), { code: 'ENOTDIR' });
  const dangling = join(dir, 'dangling');
  symlinkSync(join(dir, 'nowhere', 'at-all'), dangling);
  assert.throws(() => makeDirs(join(dangling, 'x')), { code: 'ENOENT' });
});

test('a folder under /proc: an error at once, where fs.mkdirSync(recursive) never returns', { skip: !existsSync('/proc/self') }, () => {
  assert.throws(() => makeDirs('/proc/radseal-no-such/keys'), { code: 'ENOENT' });
  // The failure mode avoided, shown in a child with a deadline (if Node fixes it, this only documents it).
  const node = spawnSync(process.execPath, ['-e', "require('fs').mkdirSync('/proc/radseal-no-such/keys', { recursive: true })"], { timeout: 1500 });
  assert.ok(node.error || node.status !== 0, 'Node\'s recursive mkdir neither spun nor failed');
});
