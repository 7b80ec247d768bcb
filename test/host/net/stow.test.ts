// The STOW-RS client's answers to what an origin server can say (PS3.18 §10.5), against a local
// HTTP server that plays the server's part (the real one, Orthanc's DICOMweb plugin, is in
// test/host/ingest/orthanc.test.ts); and the forwarder moving its queue by STOW-RS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { stowRs } from '../../../host/net/stow.js';
import { DicomNetError } from '../../../host/net/cstore.js';
import { parsePacsTarget } from '../../../host/net/destination.js';
import { Outbox } from '../../../host/net/outbox.js';
import { Forwarder } from '../../../host/net/forwarder.js';
import { makeDx } from './dicom-fixture.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

async function server(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const s = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => handler(req, Buffer.concat(parts), res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/dicom-web/studies`, close: () => new Promise((r) => s.close(() => r())) };
}

const sop = (uid: string, reason?: number) => ({ '00081155': { vr: 'UI', Value: [uid] }, ...(reason !== undefined ? { '00081197': { vr: 'US', Value: [reason] } } : {}) });
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(body));

test('STOW-RS client: one application/dicom part with the file as it is; stored, refused for good, out of resources, server errors', async () => {
  const obj = makeDx(1, 64, 64);
  let reply: (res: ServerResponse) => void = () => {};
  let seen: { type?: string; body?: Buffer } = {};
  const srv = await server((req, body, res) => {
    seen = { type: req.headers['content-type'], body };
    reply(res);
  });
  try {
    reply = (res) => json(res, 200, { '00081199': { vr: 'SQ', Value: [sop(obj.sopInstanceUid)] } });
    await stowRs({ url: srv.url }, obj.bytes);
    const boundary = /boundary=([^;]+)/.exec(seen.type!)![1]!;
    assert.match(seen.type!, /^multipart\/related; type="application\/dicom"/);
    const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
    assert.ok(seen.body!.subarray(0, head.length).equals(head));
    assert.ok(seen.body!.subarray(head.length, head.length + obj.bytes.length).equals(Buffer.from(obj.bytes)), 'the Part 10 bytes unchanged');
    assert.equal(seen.body!.subarray(head.length + obj.bytes.length).toString(), `\r\n--${boundary}--\r\n`);

    const fails = async (expect: RegExp, retryable: boolean) =>
      assert.rejects(stowRs({ url: srv.url }, obj.bytes), (e: DicomNetError) => e instanceof DicomNetError && expect.test(e.message) && e.retryable === retryable);
    reply = (res) => json(res, 409, { '00081198': { vr: 'SQ', Value: [sop(obj.sopInstanceUid, 0xc000)] } });
    await fails(/not stored \(failure reason 0xC000\)/, false);
    reply = (res) => json(res, 202, { '00081198': { vr: 'SQ', Value: [sop(obj.sopInstanceUid, 0xa700)] } });
    await fails(/failure reason 0xA700/, true);
    reply = (res) => json(res, 200, { '00081199': { vr: 'SQ', Value: [sop('1.2.3.4')] } });
    await fails(/not in the Referenced SOP Sequence/, true);
    reply = (res) => res.writeHead(503).end('busy');
    await fails(/HTTP 503/, true);
    reply = (res) => res.writeHead(415).end('no');
    await fails(/HTTP 415/, false);
  } finally {
    await srv.close();
  }
  await assert.rejects(stowRs({ url: 'http://127.0.0.1:9/x', timeoutMs: 3000 }, obj.bytes), (e: DicomNetError) => /unreachable/.test(e.message) && e.retryable);
});

test('--forward takes AE@HOST:PORT or a STOW-RS URL; the forwarder moves its queue in order by STOW-RS, retrying while the server fails', async () => {
  assert.deepEqual(parsePacsTarget('PACS@10.0.0.5:104'), { calledAe: 'PACS', host: '10.0.0.5', port: 104, tls: undefined });
  assert.deepEqual(parsePacsTarget('https://pacs.example/dicom-web/studies'), { url: 'https://pacs.example/dicom-web/studies' });
  const dir = mkdtempSync(join(tmpdir(), 'radseal-stow-'));
  const box = new Outbox(join(dir, 'outbox'));
  const objs = [1, 2, 3].map((i) => makeDx(i, 64, 64));
  objs.forEach((o, i) => box.put('DEV', i + 1, o.bytes));
  const got: string[] = [];
  let failFirst = 2;
  const srv = await server((_req, body, res) => {
    if (failFirst-- > 0) return void res.writeHead(503).end();
    const o = objs.find((x) => body.includes(Buffer.from(x.bytes)))!;
    got.push(o.sopInstanceUid);
    json(res, 200, { '00081199': { vr: 'SQ', Value: [sop(o.sopInstanceUid)] } });
  });
  const fwd = new Forwarder(box, parsePacsTarget(srv.url), { minBackoffMs: 50, maxBackoffMs: 100 });
  try {
    fwd.start();
    const t0 = Date.now();
    while (fwd.stats.forwarded < 3 && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, objs.map((o) => o.sopInstanceUid), 'in order, each once');
    assert.equal(fwd.stats.retried, 2);
    assert.equal(box.pending().length, 0);
  } finally {
    await fwd.stop();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
