// The forwarder gives way while work with priority goes on (the proxy's modality sending), and
// sends as soon as it is told to go; the queue and its order are unchanged by waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox } from '../../../host/net/outbox.js';
import { Forwarder, parseForwardTargets } from '../../../host/net/forwarder.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeDx } from './dicom-fixture.js';

const until = async (ok: () => boolean, ms = 10000) => {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 10))) if (Date.now() - t0 > ms) return false;
  return true;
};

test('nothing is sent while yieldTo asks to wait; then everything, in queue order', async (t) => {
  const dir = tempDir(t, 'radseal-yield-');
  const box = new Outbox(join(dir, 'outbox'));
  for (let i = 1; i <= 3; i++) box.put('DX-Y', i, makeDx(i).bytes);
  const names = box.pending().map((e) => e.name);
  let busy = true;
  let asked = 0;
  const sent: string[] = [];
  const [target] = parseForwardTargets(['PACS@127.0.0.1:1']);
  const fwd = new Forwarder(box, target!, {
    minBackoffMs: 10,
    yieldTo: () => (asked++, busy ? 20 : 0),
    send: async () => void sent.push(names[sent.length]!),
  });
  fwd.on('sending', (e: { name: string }) => assert.equal(busy, false, `${e.name} sent while asked to wait`));
  fwd.start();
  assert.ok(await until(() => asked >= 5), 'the forwarder keeps asking while it waits');
  assert.equal(sent.length, 0);
  assert.equal(readdirSync(join(dir, 'outbox', 'ready')).length, 3);
  busy = false;
  fwd.kick();
  assert.ok(await until(() => readdirSync(join(dir, 'outbox', 'ready')).length === 0));
  await fwd.stop();
  assert.deepEqual(sent, names);
});

test('a forwarder waiting to yield stops at once when stopped', async (t) => {
  const dir = tempDir(t, 'radseal-yield-');
  const box = new Outbox(join(dir, 'outbox'));
  box.put('DX-Y', 1, makeDx(1).bytes);
  const [target] = parseForwardTargets(['PACS@127.0.0.1:1']);
  const fwd = new Forwarder(box, target!, { yieldTo: () => 60000, send: async () => assert.fail('sent while asked to wait') });
  fwd.start();
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await fwd.stop();
  assert.ok(Date.now() - t0 < 1000, 'stop does not wait out the yield');
  assert.equal(box.pending().length, 1);
});
