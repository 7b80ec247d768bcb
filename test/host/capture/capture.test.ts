// The capture service end to end: simulator (with faults) -> TCP link -> seal ->
// durable outbox -> ACK -> C-STORE to DCMTK storescp, original bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { CaptureService } from '../../../host/capture/service.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { parsePart10 } from '../../../host/net/cstore.js';
import { testBoard } from '../link/harness.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { startTsa } from '../support/tsa.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';

test('capture: frames sealed exactly once, durable before ACK, forwarded byte for byte; restart resumes the queue', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-capture-'));
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'test');
  const board = testBoard('gige-tcp-bridge', {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' }, chunkBytes: 16384, ackTimeoutMs: 300, nakTimeoutMs: 80 },
    detector: { deviceId: 'SIM-0001', rows: 512, cols: 512, bitsStored: 14 },
  });
  const scp = await startStoreScp(join(dir, 'pacs'), await freePort());
  const pacsPort = scp.port;
  const latencies: number[] = [];
  let svc = new CaptureService({ board, device, outboxDir: join(dir, 'outbox'), forward: { calledAe: 'PACS', host: '127.0.0.1', port: pacsPort }, forwardBackoffMs: { min: 100, max: 500 } });
  svc.on('sealed', (e) => latencies.push(e.latencyMs));
  try {
    await svc.start();
    const port = `127.0.0.1:${svc.connector.boundPort}`;
    const rep = await runSimulator(board, { frames: 6, startSerial: 500, port, faults: 'corrupt=1e-5,drop=0.01,truncate=0.01,seed=9' });
    assert.deepEqual(rep.failed, []);
    assert.equal(rep.framesAcked, 6);
    // ACK only after durability: every ACKed frame is in the outbox.
    for (const s of rep.sent) assert.ok(svc.outbox.has('SIM-0001', s.serial), `#${s.serial} durable`);
    // The device resends everything (it lost its ACKs, say): nothing is sealed twice.
    await svc.stop();
    svc = new CaptureService({ board: testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-0001', rows: 512, cols: 512, bitsStored: 14 } }), device, outboxDir: join(dir, 'outbox'), forward: { calledAe: 'PACS', host: '127.0.0.1', port: pacsPort }, forwardBackoffMs: { min: 100, max: 500 } });
    await svc.start();
    const again = await runSimulator(board, { frames: 6, startSerial: 500, port: `127.0.0.1:${svc.connector.boundPort}` });
    assert.equal(again.duplicatesAcked, 6, 'after a restart, resent frames are ACKed as duplicates');
    const t0 = Date.now();
    while (svc.outbox.pending().length && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 50));
    const sent = readdirSync(svc.outbox.sentDir).sort();
    assert.equal(sent.length, 6, 'six objects, each sealed once');
    const stored = readdirSync(scp.dir);
    assert.equal(stored.length, 6);
    const byUid = new Map(stored.map((f) => {
      const b = new Uint8Array(readFileSync(join(scp.dir, f)));
      return [parsePart10(b).sopInstanceUid, b.subarray(parsePart10(b).dataSetOffset)];
    }));
    for (const f of sent) {
      const b = new Uint8Array(readFileSync(join(svc.outbox.sentDir, f)));
      const p = parsePart10(b);
      assert.ok(Buffer.from(byUid.get(p.sopInstanceUid)!).equals(Buffer.from(b.subarray(p.dataSetOffset))), `${f}: PACS got the signed bytes unchanged`);
    }
    t.diagnostic(`last byte -> durable sealed object, 512x512: ${latencies.map((l) => l.toFixed(0)).join(', ')} ms`);
  } finally {
    await svc.stop();
    await scp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('capture with a TSA: device signatures get certified timestamps; while the TSA is down frames are still sealed and ACKed, without one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-capture-tsa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tsa = await startTsa(join(dir, 'tsa'));
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const device = loadDeviceIdentity(keys.key, keys.cert, 'test');
  const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } }, detector: { deviceId: 'SIM-0001', rows: 128, cols: 128, bitsStored: 12 } });
  const logs: string[] = [];
  const svc = new CaptureService({ board, device, outboxDir: join(dir, 'outbox'), timestampUrl: tsa.url, log: (m) => logs.push(m) });
  try {
    await svc.start();
    const port = `127.0.0.1:${svc.connector.boundPort}`;
    assert.equal((await runSimulator(board, { frames: 2, startSerial: 10, port })).framesAcked, 2);
    await tsa.stop(); // the TSA goes away
    assert.equal((await runSimulator(board, { frames: 2, startSerial: 20, port })).framesAcked, 2, 'frames are not held back for a timestamp');
    assert.equal(svc.status().sealed, 4);
    assert.equal(svc.status().timestamped, 2);
    // The first frame finds the TSA gone; the second is not held back trying again (30 s pause).
    assert.equal(logs.filter((l) => /no certified timestamp \(TSA .* unreachable.*tried again in 30 s/.test(l)).length, 1, logs.join('\n'));
    const trust = parseCertificates(Buffer.concat([readFileSync(keys.cert), Buffer.from(tsa.caPem)]));
    const files = readdirSync(svc.outbox.readyDir).sort();
    const reports = files.map((f) => verifyObject(f, new Uint8Array(readFileSync(join(svc.outbox.readyDir, f))), trust));
    assert.deepEqual(reports.map((r) => r.verdict), ['authentic', 'authentic', 'authentic', 'authentic'], reports.flatMap((r) => r.reasons).join('\n'));
    assert.equal(reports.filter((r) => r.signatures[0]!.certifiedTime).length, 2);
  } finally {
    await svc.stop();
  }
});
