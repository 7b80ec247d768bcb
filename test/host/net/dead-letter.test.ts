// One object PACS refuses for good must not block the queue: it is parked (atomically, durably)
// in the queue's dead-letter folder with a note saying why, logged and counted, and the objects
// behind it go on, in order. Transient failures (0xA7xx, connection refused, HTTP 5xx) keep
// the head object retrying in order. PACS stand-ins: radseal's own SCP answering a chosen
// status per object, and a local STOW-RS HTTP server answering a chosen HTTP status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cStore, isTransientStatus, parsePart10 } from '../../../host/net/cstore.js';
import { startStoreScp } from '../../../host/net/scp.js';
import { Outbox } from '../../../host/net/outbox.js';
import { Forwarder } from '../../../host/net/forwarder.js';
import { startGateway } from '../../../host/ingest/gateway/gateway.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects, testIngestor } from '../../services/ingest-fixtures.js';
import { makeDx } from './dicom-fixture.js';

const until = async (ok: () => boolean, ms = 15000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return ok();
};

/** A PACS that answers each object with the status `answer` picks (by SOP Instance UID and attempt). */
async function pacs(t: { after(fn: () => Promise<void>): void }, answer: (uid: string, attempt: number) => number) {
  const attempts = new Map<string, number>();
  const stored: string[] = [];
  const scp = await startStoreScp({
    host: '127.0.0.1', port: 0, aeTitle: 'PACS',
    onStore: async (obj) => {
      const n = (attempts.get(obj.sopInstanceUid) ?? 0) + 1;
      attempts.set(obj.sopInstanceUid, n);
      const status = answer(obj.sopInstanceUid, n);
      if (status === 0) stored.push(obj.sopInstanceUid);
      return { status, comment: status ? 'stand-in says no' : undefined };
    },
  });
  t.after(() => scp.close());
  return { port: scp.port, stored, attempts };
}

test('isTransientStatus: out of resources and resource limitation retry; data set and SOP class problems do not', () => {
  for (const s of [0xa700, 0xa7ff, 0x0213]) assert.equal(isTransientStatus(s), true, s.toString(16));
  for (const s of [0xa900, 0xc000, 0xcfff, 0x0122, 0x0124, 0x0110, 0x0211]) assert.equal(isTransientStatus(s), false, s.toString(16));
});

test('capture outbox: a permanent refusal (A900) is dead-lettered with its reason and the queue goes on in order; a transient one (A700) is retried in place', async (t) => {
  const dir = tempDir(t, 'radseal-dead-');
  const box = new Outbox(join(dir, 'outbox'));
  const objs = Array.from({ length: 4 }, (_, i) => makeDx(i, 64, 64));
  objs.forEach((o, i) => box.put('DEV', i + 1, o.bytes));
  const bad = objs[1]!.sopInstanceUid;
  const flaky = objs[2]!.sopInstanceUid;
  const p = await pacs(t, (uid, attempt) => (uid === bad ? 0xa900 : uid === flaky && attempt < 3 ? 0xa700 : 0));
  const logs: string[] = [];
  const fwd = new Forwarder(box, { calledAe: 'PACS', host: '127.0.0.1', port: p.port }, { minBackoffMs: 20, maxBackoffMs: 50, log: (m) => logs.push(m) });
  const parked: string[] = [];
  fwd.on('dead-letter', (e: { name: string }) => parked.push(e.name));
  fwd.start();
  t.after(() => fwd.stop());
  assert.ok(await until(() => fwd.stats.forwarded === 3), `three delivered: ${logs.join('\n')}`);
  assert.deepEqual(p.stored, [objs[0]!, objs[2]!, objs[3]!].map((o) => o.sopInstanceUid), 'the rest in capture order');
  assert.equal(p.attempts.get(bad), 1, 'a permanent refusal is not retried');
  assert.equal(p.attempts.get(flaky), 3, 'a transient one is, in place');
  assert.deepEqual(parked, ['000000000002-DEV-2.dcm']);
  assert.equal(fwd.stats.deadLettered, 1);
  assert.equal(fwd.deadLettered, 1);
  assert.deepEqual(readdirSync(box.deadLetterDir).sort(), ['000000000002-DEV-2.dcm', '000000000002-DEV-2.dcm.json']);
  const note = JSON.parse(readFileSync(join(box.deadLetterDir, '000000000002-DEV-2.dcm.json'), 'utf8'));
  assert.equal(note.target, `PACS@127.0.0.1:${p.port}`);
  assert.match(note.reason, /status 0xa900 \(stand-in says no\)/);
  assert.match(logs.join('\n'), /000000000002-DEV-2\.dcm refused for good by PACS@.* parked in .*dead-letter/);
  assert.equal(statSync(box.deadLetterDir).mode & 0o777, 0o700);
  // Durable and known after a restart: the frame is still "sealed" (never sealed twice), the count survives.
  const reopened = new Outbox(join(dir, 'outbox'));
  assert.ok(reopened.has('DEV', 2));
  assert.equal(reopened.deadLettered(), 1);
  assert.equal(reopened.put('DEV', 9, makeDx(9, 64, 64).bytes).seq, 5, 'sequence numbers go on past the parked object');
});

test('STOW-RS: HTTP 400 is dead-lettered, 503 is retried, the queue goes on', async (t) => {
  const dir = tempDir(t, 'radseal-dead-stow-');
  const box = new Outbox(join(dir, 'outbox'));
  const objs = Array.from({ length: 3 }, (_, i) => makeDx(i, 64, 64));
  objs.forEach((o, i) => box.put('DEV', i + 1, o.bytes));
  const order: number[] = [];
  let calls = 0;
  const srv = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      calls++;
      const body = Buffer.concat(parts);
      const i = objs.findIndex((o) => body.includes(Buffer.from(o.sopInstanceUid)));
      if (i === 0 && calls < 3) return res.writeHead(503).end('busy');
      if (i === 1) return res.writeHead(400).end('bad request');
      order.push(i);
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify({ '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: [objs[i]!.sopInstanceUid] } }] } }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const fwd = new Forwarder(box, { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/studies` }, { minBackoffMs: 20, maxBackoffMs: 50 });
  fwd.start();
  t.after(() => fwd.stop());
  assert.ok(await until(() => fwd.stats.forwarded === 2));
  assert.deepEqual(order, [0, 2]);
  assert.equal(fwd.stats.retried, 2);
  assert.equal(box.deadLettered(), 1);
  assert.match(JSON.parse(readFileSync(join(box.deadLetterDir, '000000000002-DEV-2.dcm.json'), 'utf8')).reason, /HTTP 400/);
});

test('ingest gateway: a stored object PACS refuses for good (0xC000) goes to .forward/dead-letter; the next is forwarded; status counts it', async (t) => {
  const dir = tempDir(t, 'radseal-dead-gw-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const [first, second] = objs.sealed.map((s) => parsePart10(s).sopInstanceUid) as [string, string];
  const p = await pacs(t, (uid) => (uid === first ? 0xc000 : 0));
  const { ingestor } = testIngestor(t, dir, objs, 'reject');
  const gw = await startGateway({ host: '127.0.0.1', port: 0, aeTitle: 'RADSEAL', ingestor, forward: { calledAe: 'PACS', host: '127.0.0.1', port: p.port }, minBackoffMs: 20 });
  t.after(() => gw.close());
  for (const s of objs.sealed) assert.equal((await cStore({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port }, s)).status, 0);
  assert.ok(await gw.forwarder!.drain(10000));
  assert.deepEqual(p.stored, [second]);
  const status = gw.status();
  assert.deepEqual([status.received, status.forwarded, status.queued, status.deadLettered], [2, 1, 0, 1]);
  const dead = join(dir, 'store', '.forward', 'dead-letter');
  const parked = readdirSync(dead).filter((f) => !f.endsWith('.json'));
  assert.equal(parked.length, 1);
  assert.ok(parked[0]!.endsWith(`-${first}.dcm`));
  assert.ok(existsSync(join(dir, 'store', `${first}.dcm`)), 'the stored copy stays where it was');
});
