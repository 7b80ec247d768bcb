import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cStore, parsePart10, parseTarget, DicomNetError } from '../../../host/net/cstore.js';
import { Outbox } from '../../../host/net/outbox.js';
import { Forwarder } from '../../../host/net/forwarder.js';
import { makeDx } from './dicom-fixture.js';
import { freePort, startStoreScp } from './storescp.js';
import { expectedObject } from './outbox-content.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'radseal-net-'));

function storedDataSets(dir: string): Map<string, { dataSet: Uint8Array; mtime: bigint }> {
  const out = new Map<string, { dataSet: Uint8Array; mtime: bigint }>();
  for (const f of readdirSync(dir)) {
    const b = new Uint8Array(readFileSync(join(dir, f)));
    const p = parsePart10(b);
    out.set(p.sopInstanceUid, { dataSet: b.subarray(p.dataSetOffset), mtime: statSync(join(dir, f), { bigint: true }).mtimeNs });
  }
  return out;
}

test('parseTarget and parsePart10', () => {
  assert.deepEqual(parseTarget('PACS@127.0.0.1:11112'), { calledAe: 'PACS', host: '127.0.0.1', port: 11112 });
  assert.throws(() => parseTarget('nohost'), /AE@HOST:PORT/);
  const dx = makeDx(1);
  const p = parsePart10(dx.bytes);
  assert.equal(p.sopInstanceUid, dx.sopInstanceUid);
  assert.equal(p.transferSyntaxUid, '1.2.840.10008.1.2.1');
  assert.equal(p.dataSetOffset, dx.dataSetOffset);
  assert.throws(() => parsePart10(new Uint8Array(200)), /DICM/);
});

test('C-STORE to DCMTK storescp moves the data set byte for byte', async () => {
  const dir = tmp();
  const scp = await startStoreScp(join(dir, 'pacs'), await freePort());
  try {
    const dx = makeDx(7, 256, 256);
    const r = await cStore({ calledAe: 'PACS', host: '127.0.0.1', port: scp.port }, dx.bytes);
    assert.equal(r.status, 0);
    const stored = storedDataSets(scp.dir);
    assert.equal(stored.size, 1);
    assert.deepEqual(Buffer.from(stored.get(dx.sopInstanceUid)!.dataSet), Buffer.from(dx.bytes.subarray(dx.dataSetOffset)));
  } finally {
    await scp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('C-STORE errors: nobody listening is retryable', async () => {
  const port = await freePort();
  await assert.rejects(cStore({ calledAe: 'PACS', host: '127.0.0.1', port, timeoutMs: 2000 }, makeDx(1).bytes), (e: unknown) => e instanceof DicomNetError && e.retryable);
});

test('outbox: put is durable and deduplicates by (device, serial) across reopen', () => {
  const dir = tmp();
  try {
    const a = new Outbox(dir);
    const e1 = a.put('DEV/1', 5, Uint8Array.of(1, 2, 3));
    a.put('DEV/1', 6, Uint8Array.of(4));
    assert.equal(e1.seq, 1);
    const b = new Outbox(dir);
    assert.ok(b.has('DEV/1', 5) && b.has('DEV/1', 6) && !b.has('DEV/1', 7));
    assert.deepEqual(b.pending().map((e) => [e.seq, e.deviceId, e.serial]), [[1, 'DEV/1', 5], [2, 'DEV/1', 6]]);
    b.markSent(b.pending()[0]);
    const c = new Outbox(dir);
    assert.ok(c.has('DEV/1', 5), 'a sent object is still known as sealed');
    assert.equal(c.put('DEV/1', 9, Uint8Array.of(9)).seq, 3, 'sequence continues after restart');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('outbox: kill -9 of a writer mid-write leaves no half-written object', async (t) => {
  const dir = tmp();
  let partials = 0;
  try {
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'outbox-writer.child.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let written = 0;
      child.stdout!.on('data', (d: Buffer) => (written += String(d).split('\n').filter(Boolean).length));
      // Let it write a few objects, then kill it at an arbitrary moment.
      while (written < 2 + round) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const box = new Outbox(dir);
      partials += box.removedPartials.length;
      for (const e of box.pending()) {
        const got = new Uint8Array(readFileSync(e.path));
        assert.ok(Buffer.from(got).equals(Buffer.from(expectedObject(e.serial))), `object ${e.name} is complete and intact`);
      }
      assert.deepEqual(readdirSync(box.tmpDir), [], 'tmp/ cleaned on open');
      const serials = box.pending().map((e) => e.serial);
      assert.deepEqual(serials, [...serials].sort((a, b) => a - b));
      assert.equal(new Set(serials).size, serials.length, 'no serial twice');
    }
    t.diagnostic(`half-written temporaries found and removed after kill -9: ${partials} in 4 rounds`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PACS down, then up: every object delivered, in order, none lost', async () => {
  const dir = tmp();
  const port = await freePort();
  const box = new Outbox(join(dir, 'outbox'));
  const objs = Array.from({ length: 6 }, (_, i) => makeDx(i, 128, 128));
  objs.forEach((o, i) => box.put('DEV', i + 1, o.bytes));
  const order: number[] = [];
  const fwd = new Forwarder(box, { calledAe: 'PACS', host: '127.0.0.1', port, timeoutMs: 3000 }, { minBackoffMs: 100, maxBackoffMs: 400 });
  fwd.on('forwarded', (e) => order.push(e.serial));
  fwd.start();
  let scp;
  try {
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(fwd.stats.forwarded, 0);
    assert.ok(fwd.stats.retried >= 2, `retried while PACS was down (${fwd.stats.retried})`);
    scp = await startStoreScp(join(dir, 'pacs'), port);
    // More objects arrive while it catches up.
    const late = makeDx(99, 128, 128);
    box.put('DEV', 7, late.bytes);
    fwd.kick();
    const t0 = Date.now();
    while (fwd.stats.forwarded < 7 && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(order, [1, 2, 3, 4, 5, 6, 7]);
    const stored = storedDataSets(scp.dir);
    const all = [...objs, late];
    assert.equal(stored.size, 7);
    for (const o of all) assert.ok(Buffer.from(stored.get(o.sopInstanceUid)!.dataSet).equals(Buffer.from(o.bytes.subarray(o.dataSetOffset))));
    const byTime = all.map((o) => stored.get(o.sopInstanceUid)!.mtime);
    assert.deepEqual(byTime, [...byTime].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'PACS received them in capture order');
    assert.equal(box.pending().length, 0);
  } finally {
    await fwd.stop();
    await scp?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
