// `radseal demo` runs the whole flow with nothing to configure, and a second
// run reuses the keys it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { radseal, tempDir } from '../support/run.js';

test('demo seals, verifies and catches the tampered copy; the second run reuses the keys', () => {
  const dir = join(tempDir(), 'demo');
  const first = radseal('demo', '--dir', dir);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /made a device key/);
  assert.match(first.stdout, /TAMPERED/);
  assert.match(first.stdout, /every sealed object verified authentic and every tampered copy was caught/);
  // Frames went through the link protocol to the capture service, whose durable outbox queues them for PACS.
  assert.match(first.stdout, /capture service listening on 127\.0\.0\.1:\d+/);
  assert.match(first.stdout, /ACKed durable after \d+ ms/);
  const sealed = readdirSync(join(dir, 'outbox', 'ready')).filter((f) => f.endsWith('.dcm'));
  assert.ok(sealed.length >= 3, `outbox holds ${sealed.length} objects`);
  assert.deepEqual(readdirSync(join(dir, 'outbox', 'tmp')), [], 'no temp files left');
  assert.equal(statSync(join(dir, 'keys', 'device.key')).mode & 0o777, 0o600);
  const authentic = first.stdout.match(/AUTHENTIC/g)?.length ?? 0;
  assert.equal(authentic, sealed.length);

  const second = radseal('demo', '--dir', dir);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /keys: using/);
  assert.equal(readdirSync(join(dir, 'outbox', 'ready')).filter((f) => f.endsWith('.dcm')).length, 2 * sealed.length, 'the second run adds, never replaces');
  assert.ok(existsSync(join(dir, 'tampered')));
});
