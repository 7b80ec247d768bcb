// Key files: created 0600 whatever the umask, never overwritten, refused when
// group or others can access them or when they are not regular files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { readSecretFile, writeSecretFile, loadSignerFile, writePkcs8KeyFile, KeyFileError } from '../../../host/keys/filestore.js';
import { ed25519Pkcs8 } from '../../../host/keys/pem.js';
import { newSeed } from '../../../host/keys/ed25519.js';

const dir = tempDir('radseal-filestore-');

test('writeSecretFile: mode 0600 even under umask 0, and never over an existing file', () => {
  const old = process.umask(0);
  try {
    writeSecretFile(join(dir, 'k1'), 'secret');
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(join(dir, 'k1')).mode & 0o777, 0o600);
  assert.throws(() => writeSecretFile(join(dir, 'k1'), 'other'), /already exists; refusing to overwrite/);
  assert.equal(readSecretFile(join(dir, 'k1')).toString(), 'secret');
});

test('readSecretFile refuses group/other access (each bit), directories, and says which file and how to fix it', () => {
  writeSecretFile(join(dir, 'k2'), 'x');
  for (const mode of [0o640, 0o604, 0o620, 0o602, 0o610, 0o601]) {
    chmodSync(join(dir, 'k2'), mode);
    assert.throws(() => readSecretFile(join(dir, 'k2')), new RegExp(`accessible by others \\(mode ${mode.toString(8)}\\); run: chmod 600`));
  }
  chmodSync(join(dir, 'k2'), 0o400);
  assert.equal(readSecretFile(join(dir, 'k2')).toString(), 'x');
  mkdirSync(join(dir, 'd'), { mode: 0o700 });
  assert.throws(() => readSecretFile(join(dir, 'd')), /not a regular file/);
  assert.throws(() => readSecretFile(join(dir, 'missing')), /no such file/);
  // A 0600 symlink target is judged by the target's own mode.
  writeFileSync(join(dir, 'loose'), 'y', { mode: 0o644 });
  symlinkSync(join(dir, 'loose'), join(dir, 'link'));
  assert.throws(() => readSecretFile(join(dir, 'link')), /accessible by others/);
});

test('a PIN-encrypted key: wrong PIN and missing PIN give plain errors that never contain the PIN', () => {
  const pin = 'correct-horse-77';
  writePkcs8KeyFile(join(dir, 'tech.key'), ed25519Pkcs8(newSeed()), pin);
  assert.ok(loadSignerFile(join(dir, 'tech.key'), pin).publicKey.length === 32);
  for (const attempt of ['wrong-pin-31', undefined]) {
    try {
      loadSignerFile(join(dir, 'tech.key'), attempt);
      assert.fail('loaded with a wrong PIN');
    } catch (err) {
      assert.ok(err instanceof KeyFileError);
      assert.ok(!err.message.includes(pin) && (!attempt || !err.message.includes(attempt)), err.message);
      assert.match(err.message, attempt ? /wrong PIN or damaged key file/ : /is PIN-protected; give the PIN/);
    }
  }
  assert.throws(() => writePkcs8KeyFile(join(dir, 'short.key'), ed25519Pkcs8(newSeed()), '123'), /at least 4 characters/);
});
