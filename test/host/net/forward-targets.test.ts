// One outbox, two PACS (real DCMTK storescp): every object reaches both; a target that is down
// holds back nothing of the other; an object leaves ready/ for sent/ only when both acknowledged
// it; one target refusing an object for good parks it for that target alone; a kill -9 of the
// forwarder and a restart send nothing again to a target that already took it. Run it inside a
// private network namespace (storescp listens on every interface).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox } from '../../../host/net/outbox.js';
import { Forwarder, targetKey, parseForwardTargets } from '../../../host/net/forwarder.js';
import { tempDir } from '../dicom/fixtures.js';
import { DX_SOP_CLASS, makeDx } from './dicom-fixture.js';
import { freePort, startStoreScp, type StoreScp } from './storescp.js';

const CHILD = new URL('./forward-targets.child.ts', import.meta.url).pathname;
const skip = existsSync('/usr/bin/storescp') ? false : 'DCMTK storescp not installed';

const until = async (ok: () => boolean, ms = 20000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return ok();
};
/** Files storescp wrote (+uf: one per object received, a second copy of the same object gets its own). */
const received = (scp: StoreScp) => readdirSync(scp.dir).filter((f) => !f.startsWith('.'));
const ls = (d: string) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.dcm')) : []);

/** A DX object whose SOP class no storescp knows unless promiscuous (-pm): refused for good by the other. */
function privateClassObject(n: number): Uint8Array {
  const o = Buffer.from(makeDx(n).bytes);
  const from = Buffer.from(DX_SOP_CLASS);
  const to = Buffer.from('1.2.826.0.1.3680043.10.9.99');
  assert.equal(to.length, from.length);
  for (let i = o.indexOf(from); i >= 0; i = o.indexOf(from, i + 1)) to.copy(o, i);
  return new Uint8Array(o);
}

function forwarderProcess(outbox: string, targets: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, outbox, ...targets], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { proc, out: () => out };
}
const kill9 = async (proc: ChildProcess) => {
  proc.kill('SIGKILL');
  if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
};

test('two targets, one down for a while, one refusing an object, kill -9 and restart: each object once at each target', { skip }, async (t) => {
  const dir = tempDir(t, 'radseal-fwd2-');
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startStoreScp(join(dir, 'pacs-a'), portA, 'PACS_A', ['+uf', '-pm']);
  t.after(() => a.stop());
  let b: StoreScp | undefined;
  t.after(() => b?.stop());
  const specA = `PACS_A@127.0.0.1:${portA}`;
  const specB = `PACS_B@127.0.0.1:${portB}`;
  const [keyA, keyB] = parseForwardTargets([specA, specB]).map(targetKey);

  // An outbox as an earlier radseal left it (ready/ and sent/ only), now forwarded to two targets.
  const outboxDir = join(dir, 'outbox');
  const box = new Outbox(outboxDir);
  const N = 12;
  const REFUSED_BY_B = 5;
  const bytes: Uint8Array[] = [];
  for (let i = 1; i <= N; i++) {
    bytes.push(i === REFUSED_BY_B ? privateClassObject(i) : makeDx(i).bytes);
    box.put('DX-FWD', i, bytes[i - 1]!);
  }
  const names = box.pending().map((e) => e.name);

  // B is down: A gets everything, nothing leaves ready/, A's deliveries are recorded.
  let fwd = forwarderProcess(outboxDir, [specA, specB]);
  t.after(() => kill9(fwd.proc));
  assert.ok(await until(() => received(a).length === N), `A received ${received(a).length}/${N}\n${fwd.out()}`);
  assert.ok(await until(() => /not delivered to PACS_B.*retry/.test(fwd.out())), fwd.out());
  // storescp writes the file before its answer reaches the forwarder: wait for the last acknowledgement.
  assert.ok(await until(() => (fwd.out().match(/-> PACS_A@\S+ stored/g) ?? []).length === N), fwd.out());
  assert.deepEqual(ls(join(outboxDir, 'ready')), names, 'nothing leaves ready/ while B has not taken it');
  assert.deepEqual(ls(join(outboxDir, 'sent')), []);
  const logA = readFileSync(join(outboxDir, 'delivery', `${keyA}.log`), 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(logA.sort(), [...names].sort(), "A's acknowledgements are in its delivery log");
  await kill9(fwd.proc);

  // B comes up; the forwarder restarts after its kill -9: B gets everything, A nothing again.
  b = await startStoreScp(join(dir, 'pacs-b'), portB, 'PACS_B', ['+uf']);
  fwd = forwarderProcess(outboxDir, [specA, specB]);
  assert.ok(await until(() => ls(join(outboxDir, 'ready')).length === 0), `ready/ still holds ${ls(join(outboxDir, 'ready'))}\n${fwd.out()}`);
  await kill9(fwd.proc);
  assert.equal(received(a).length, N, 'A got no object twice across the restart');
  assert.equal(received(b).length, N - 1, 'B got every object it accepts, once');
  const refusedName = names[REFUSED_BY_B - 1]!;
  assert.deepEqual(ls(join(outboxDir, 'sent')), names.filter((n) => n !== refusedName), 'sent/ holds what both acknowledged');
  // The object B refused: parked for B alone, with B's reason; A had it, and the log says so.
  const parkedDir = join(outboxDir, 'dead-letter', keyB);
  assert.deepEqual(ls(parkedDir), [refusedName]);
  const note = JSON.parse(readFileSync(join(parkedDir, `${refusedName}.json`), 'utf8')) as { target: string; reason: string };
  assert.equal(note.target, specB);
  assert.match(note.reason, /refused SOP class 1\.2\.826\.0\.1\.3680043\.10\.9\.99/);
  assert.ok(!existsSync(join(outboxDir, 'dead-letter', keyA)), 'A refused nothing');
  assert.equal(new Outbox(outboxDir).deadLettered(), 1);
  // Bytes at both targets are the outbox's, unchanged (storescp +B is off with +uf: compare the data set).
  const tail = (x: Uint8Array) => Buffer.from(x).subarray(Buffer.from(x).indexOf(Buffer.from([0x08, 0x00, 0x05, 0x00])));
  const expected = new Set(bytes.map((x) => tail(x).toString('hex')));
  for (const scp of [a, b]) for (const f of received(scp)) assert.ok(expected.has(tail(readFileSync(join(scp.dir, f))).toString('hex')), `${f} differs`);
});

test('kill -9 while both targets take objects: after the restart every object is at each target, at most the one in flight twice', { skip }, async (t) => {
  const dir = tempDir(t, 'radseal-fwd3-');
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startStoreScp(join(dir, 'pacs-a'), portA, 'PACS_A', ['+uf']);
  const b = await startStoreScp(join(dir, 'pacs-b'), portB, 'PACS_B', ['+uf']);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const outboxDir = join(dir, 'outbox');
  const box = new Outbox(outboxDir);
  const N = 40;
  for (let i = 1; i <= N; i++) box.put('DX-FWD', i, makeDx(i, 256, 256).bytes);
  const specs = [`PACS_A@127.0.0.1:${portA}`, `PACS_B@127.0.0.1:${portB}`];
  let fwd = forwarderProcess(outboxDir, specs);
  t.after(() => kill9(fwd.proc));
  assert.ok(await until(() => received(a).length + received(b).length >= N / 2), fwd.out());
  await kill9(fwd.proc);
  const before = { a: received(a).length, b: received(b).length };
  fwd = forwarderProcess(outboxDir, specs);
  assert.ok(await until(() => ls(join(outboxDir, 'sent')).length === N), `sent/ ${ls(join(outboxDir, 'sent')).length}/${N}\n${fwd.out()}`);
  await kill9(fwd.proc);
  for (const [name, scp] of [['A', a], ['B', b]] as const) {
    const files = received(scp);
    assert.ok(files.length >= N && files.length <= N + 1, `${name}: ${files.length} receptions of ${N} objects (killed after ${before.a}/${before.b})`);
    t.diagnostic(`${name}: ${files.length} receptions for ${N} objects (kill -9 after A ${before.a}, B ${before.b})`);
  }
  assert.deepEqual(ls(join(outboxDir, 'ready')), []);
});

test('one target: an object goes straight to sent/, no delivery log is written; an old two-target record is honoured', async (t) => {
  const dir = tempDir(t, 'radseal-fwd1-');
  const box = new Outbox(join(dir, 'outbox'));
  for (let i = 1; i <= 3; i++) box.put('DX-FWD', i, makeDx(i).bytes);
  const [first] = box.pending();
  // A record left by an earlier run that also forwarded to another target: this one took the first object.
  const [only] = parseForwardTargets(['PACS@127.0.0.1:1']);
  mkdirSync(join(dir, 'outbox', 'delivery'));
  writeFileSync(join(dir, 'outbox', 'delivery', `${targetKey(only!)}.log`), `${first!.name}\n`);
  const sent: string[] = [];
  const fwd = new Forwarder(new Outbox(join(dir, 'outbox')), only!, { minBackoffMs: 10, send: async (_t, b) => void sent.push(Buffer.from(b).toString('hex')) });
  fwd.start();
  assert.ok(await until(() => ls(join(dir, 'outbox', 'ready')).length === 0));
  await fwd.stop();
  assert.equal(sent.length, 2, 'the object that target had already taken is not sent again');
  assert.equal(ls(join(dir, 'outbox', 'sent')).length, 3);
  assert.deepEqual(readFileSync(join(dir, 'outbox', 'delivery', `${targetKey(only!)}.log`), 'utf8'), `${first!.name}\n`, 'one target appends nothing');
  assert.throws(() => new Forwarder(box, [only!, only!]), /named twice/);
});
