// The link over real transports: TCP on 127.0.0.1 and socat pty pairs, with faults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulator, type SimReport } from '../../../host/sim/sim.js';
import { LinkDevice } from '../../../host/link/device.js';
import { connectTcp } from '../../../host/link/transport.js';
import { PacketParser, PacketType, encodePacket, encodeBegin, decodeText, MAX_BODY_BYTES } from '../../../host/link/codec.js';
import { crc32c } from '../../../host/link/crc32c.js';
import { startHost, testBoard, type Got } from './harness.js';

function tcpBoard(rows: number, extra: Record<string, unknown> = {}) {
  return testBoard('gige-tcp-bridge', {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' }, chunkBytes: 8192, ackTimeoutMs: 200, maxAckTimeoutMs: 1000, nakTimeoutMs: 60, ...extra },
    detector: { rows, cols: rows, bitsStored: 14 },
  });
}

function assertExactlyOnce(got: Got[], rep: SimReport) {
  assert.deepEqual(rep.failed, []);
  assert.equal(rep.framesAcked, rep.sent.length, 'every frame ACKed');
  const serials = got.map((g) => g.serial);
  assert.equal(new Set(serials).size, serials.length, 'no frame delivered twice');
  assert.deepEqual([...serials].sort((a, b) => a - b), rep.sent.map((s) => s.serial), 'every frame delivered');
  for (const g of got) {
    const sent = rep.sent.find((s) => s.serial === g.serial)!;
    assert.equal(g.bytesSha, sent.sha256, `frame #${g.serial} bit-exact`);
    assert.equal(g.coreSha, sent.sha256, `frame #${g.serial} core SHA-256 (computed while streaming) matches`);
  }
}

test('TCP: corruption, drops, truncation, garbage, stalls and disconnects: every frame once, bit-exact', async (t) => {
  const b = tcpBoard(512);
  const h = await startHost(b, { tileSize: 64 });
  try {
    const rep = await runSimulator(b, {
      frames: 12, startSerial: 1000, port: `127.0.0.1:${h.conn.boundPort}`,
      faults: 'corrupt=2e-5,drop=0.02,truncate=0.01,garbage=0.01,stall=0.2:150,disconnect=0.4,seed=11',
    });
    t.diagnostic(`faults ${JSON.stringify(rep.faults)}; host ${JSON.stringify(h.rx.stats)}`);
    assertExactlyOnce(h.got, rep);
    assert.deepEqual(h.got.filter((g) => !g.tilesMatch).map((g) => g.serial), [], 'the tile table made as the rows arrived is the whole frame\'s');
    assert.ok(rep.faults.corruptedBytes > 0 && rep.faults.droppedChunks > 0 && rep.faults.truncated > 0 && rep.faults.disconnects > 0, 'faults were injected');
  } finally {
    await h.stop();
  }
});

test('the tile table as the rows arrive: rows and columns not multiples of the tile, chunks not row-aligned, chunks lost and resent', async () => {
  const b = tcpBoard(200, { chunkBytes: 4096 }); // a 400-byte row; the last tile row and column are 8 px
  const h = await startHost(b, { tileSize: 64 });
  try {
    const rep = await runSimulator(b, { frames: 4, startSerial: 1, port: `127.0.0.1:${h.conn.boundPort}`, faults: 'drop=0.05,corrupt=1e-5,seed=5' });
    assertExactlyOnce(h.got, rep);
    assert.equal(h.got.length, 4);
    assert.ok(h.got.every((g) => g.tilesMatch === true), JSON.stringify(h.got));
  } finally {
    await h.stop();
  }
});

test('pty (socat): corruption, drops and truncation: every frame once, bit-exact', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-pty-'));
  const b = testBoard('sim-pty', {
    link: { serial: { path: join(dir, 'host'), devicePath: join(dir, 'dev'), baudRate: 3000000 }, chunkBytes: 8192 },
    detector: { rows: 768, cols: 768, bitsStored: 14 },
  });
  const hp = startHost(b); // opens the host end once the simulator's socat has created it
  try {
    const rep = await runSimulator(b, { frames: 8, startSerial: 2000, faults: 'corrupt=1e-5,drop=0.01,truncate=0.01,garbage=0.005,stall=0.2:200,seed=5' });
    const h = await hp;
    t.diagnostic(`faults ${JSON.stringify(rep.faults)}; host ${JSON.stringify(h.rx.stats)}`);
    assertExactlyOnce(h.got, rep);
  } finally {
    // Always stop the host, also when the simulator threw: its reconnect timer would keep this file alive.
    await hp.then((h) => h.stop(), () => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test('duplicates: a frame resent after its ACK is ACKed as a duplicate, not delivered again', async () => {
  const b = tcpBoard(256);
  const h = await startHost(b);
  try {
    const port = `127.0.0.1:${h.conn.boundPort}`;
    const r1 = await runSimulator(b, { frames: 3, startSerial: 77, port });
    const r2 = await runSimulator(b, { frames: 3, startSerial: 77, port });
    assert.equal(r1.duplicatesAcked, 0);
    assert.equal(r2.duplicatesAcked, 3);
    assert.equal(h.got.length, 3);
    assert.equal(h.rx.stats.duplicates, 3);
  } finally {
    await h.stop();
  }
});

test('the simulator paces itself to a line rate and accounts where its sending time went', async (t) => {
  // A paced line: 4 frames of 256x256x2 bytes (512 KiB) at 1 MB/s take at least the time the rate
  // allows beyond the pacer's 64 KiB burst, whatever the loopback could carry.
  const paced = tcpBoard(256, { deviceBytesPerSec: 1_000_000 });
  let h = await startHost(paced);
  try {
    const rep = await runSimulator(paced, { frames: 4, startSerial: 300, port: `127.0.0.1:${h.conn.boundPort}` });
    assertExactlyOnce(h.got, rep);
    const floorMs = ((rep.device.bytesOut - 65536) / 1_000_000) * 1000;
    t.diagnostic(`paced: ${rep.elapsedMs.toFixed(0)} ms for ${rep.device.bytesOut} bytes (floor ${floorMs.toFixed(0)} ms)`);
    assert.ok(rep.elapsedMs >= floorMs * 0.98, `sent ${rep.device.bytesOut} bytes in ${rep.elapsedMs.toFixed(0)} ms: faster than 1 MB/s`);
    assert.ok(rep.cpuMs > 0, 'CPU while sending is reported');
  } finally {
    await h.stop();
  }
  // A credit window of 2 chunks: the device spends time waiting for the host's credit.
  const narrow = tcpBoard(256, { windowChunks: 2 });
  h = await startHost(narrow);
  try {
    const rep = await runSimulator(narrow, { frames: 2, startSerial: 400, port: `127.0.0.1:${h.conn.boundPort}` });
    assertExactlyOnce(h.got, rep);
    t.diagnostic(`narrow window: waited ${rep.device.creditWaitMs.toFixed(1)} ms for credit, ${rep.device.drainWaitMs.toFixed(1)} ms for drain`);
    assert.ok(rep.device.creditWaitMs > 0, 'credit waits are counted');
    assert.ok(rep.device.creditWaitMs + rep.device.drainWaitMs <= rep.elapsedMs + 1, 'waits fit in the sending time');
  } finally {
    await h.stop();
  }
});

test('garbage, oversize headers and wrong protocol versions: clear errors, then the link recovers', async () => {
  const b = tcpBoard(256);
  const logs: string[] = [];
  const h = await startHost(b);
  h.rx.on('frame', () => {});
  const origLog = (h.rx as unknown as { log: (m: string) => void }).log;
  (h.rx as unknown as { log: (m: string) => void }).log = (m: string) => { logs.push(m); origLog(m); };
  let t: Awaited<ReturnType<typeof connectTcp>> | null = null;
  try {
    t = await connectTcp('127.0.0.1', h.conn.boundPort!);
    const replies: string[] = [];
    const parser = new PacketParser();
    t.on('data', (d: Uint8Array) => {
      for (const e of parser.push(d)) if (e.kind === 'packet' && e.packet.type === PacketType.Error) replies.push(decodeText(e.packet.body));
    });
    t.write(Uint8Array.from({ length: 5000 }, (_, i) => (i * 73 + 1) & 0xff)); // line noise
    t.write(encodePacket(PacketType.Chunk, 1, 0, new Uint8Array(10), 0, 7)); // protocol version 7
    const over = encodePacket(PacketType.Chunk, 1, 0, new Uint8Array(0));
    new DataView(over.buffer).setUint32(16, MAX_BODY_BYTES * 4, true);
    new DataView(over.buffer).setUint32(20, crc32c(over, 0, 0, 20), true);
    t.write(over.subarray(0, 24));
    // A BEGIN whose numbers disagree: rejected with the reason.
    t.write(encodeBegin(5, { deviceId: 'X', rows: 256, cols: 256, bitsStored: 14, bytesPerPixel: 2, chunkBytes: 8192, chunkCount: 3, totalBytes: 256 * 256 * 2 }));
    await new Promise((r) => setTimeout(r, 300));
    t.close();
    t = null;
    assert.ok(replies.some((r) => /unsupported protocol version 7; this host speaks version 1/.test(r)), replies.join(' | '));
    assert.ok(replies.some((r) => /oversize body/.test(r)), replies.join(' | '));
    assert.ok(replies.some((r) => /chunkCount 3 != ceil/.test(r)), replies.join(' | '));
    assert.ok(h.rx.stats.garbageBytes >= 5000);
    assert.equal(h.rx.stats.versionErrors, 1);
    assert.equal(h.rx.stats.oversize, 1);
    assert.equal(h.rx.stats.rejected, 1);
    // The same receiver still works.
    const rep = await runSimulator(b, { frames: 2, startSerial: 300, port: `127.0.0.1:${h.conn.boundPort}` });
    assertExactlyOnce(h.got, rep);
  } finally {
    t?.close();
    await h.stop();
  }
});

test('a frame over the board geometry is refused and the device is told why', async () => {
  const b = tcpBoard(256);
  const h = await startHost(b);
  const dev = new LinkDevice({ deviceId: 'BIG', chunkBytes: 8192, framesInFlight: 1, ackTimeoutMs: 200, maxAckTimeoutMs: 400, maxRetries: 3 });
  let t: Awaited<ReturnType<typeof connectTcp>> | null = null;
  try {
    t = await connectTcp('127.0.0.1', h.conn.boundPort!);
    const errors: string[] = [];
    dev.on('host-error', (e) => errors.push(e.message));
    dev.attach(t);
    await assert.rejects(dev.send({ serial: 1, rows: 512, cols: 512, bitsStored: 14, data: new Uint8Array(512 * 512 * 2) }), /rejected/);
    assert.ok(errors.some((m) => /exceeds the board's 256x256/.test(m)), errors.join(' | '));
  } finally {
    dev.close();
    t?.close();
    await h.stop();
  }
});

void net;
