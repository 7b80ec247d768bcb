// A full disk at the modality: the capture service cannot write the sealed
// object, says so plainly, does not ACK, and the detector keeps the frame and
// resends it; once space is back every frame is sealed exactly once, bit-exact.
// The outbox lives on a small tmpfs (root only; CI runs as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBoard, withOverrides } from '../../../host/boards/board.js';
import { CaptureService } from '../../../host/capture/service.js';
import { LinkDevice } from '../../../host/link/device.js';
import { connectTcp } from '../../../host/link/transport.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { verifyObject } from '../../../host/ingest/verify.js';

const isRoot = process.getuid?.() === 0;

test('outbox disk full: clear error, no ACK, the device resends, nothing lost or sealed twice', { skip: isRoot ? false : 'needs root to mount a small tmpfs (CI runs as root)', timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-diskfull-'));
  const outbox = join(dir, 'outbox');
  execFileSync('mkdir', ['-p', outbox]);
  // Room for about two sealed 512x512 objects (~0.53 MB each), not three.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1200k', 'tmpfs', outbox]);
  const logs: string[] = [];
  let service: CaptureService | undefined;
  let device: LinkDevice | undefined;
  try {
    // A device certificate as radseal keygen makes it (with the device role).
    const keys = await generateDeviceKey('DX-DISKFULL', join(dir, 'keys'));
    const identity = loadDeviceIdentity(keys.key, keys.cert, 'test');
    const certificateDer = identity.certificateDer;
    const board = withOverrides(loadBoard('gige-tcp-bridge'), {
      link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' }, ackTimeoutMs: 300, maxAckTimeoutMs: 1000, maxRetries: 200 },
      detector: { deviceId: 'DX-DISKFULL', rows: 512, cols: 512, bitsStored: 14 },
    });
    service = new CaptureService({
      board, outboxDir: outbox, log: (m) => logs.push(m),
      device: { ...identity, boardId: board.id },
    });
    await service.start();
    const l = board.link;
    device = new LinkDevice({ deviceId: 'DX-DISKFULL', chunkBytes: l.chunkBytes, framesInFlight: 1, ackTimeoutMs: l.ackTimeoutMs, maxAckTimeoutMs: l.maxAckTimeoutMs, maxRetries: l.maxRetries });
    device.attach(await connectTcp('127.0.0.1', service.connector.boundPort!));

    const frames = [1, 2, 3].map((seed) => makePhantom({ rows: 512, cols: 512, bitsStored: 14, seed }));
    const sent = frames.map((f, i) => ({ serial: 9000 + i, data: new Uint8Array(f.pixels.buffer) }));
    const acks = sent.map((s) => device!.send({ serial: s.serial, rows: 512, cols: 512, bitsStored: 14, data: s.data }));

    // Wait until the third frame has failed for lack of space at least once.
    const deadline = Date.now() + 60_000;
    while (!logs.some((m) => /no space left on device/i.test(m))) {
      assert.ok(Date.now() < deadline, `no disk-full error logged:\n${logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const failure = logs.find((m) => /no space left on device/i.test(m))!;
    t.diagnostic(failure);
    assert.match(failure, /DX-DISKFULL#9002/, 'the log names the frame that could not be stored');
    assert.equal(readdirSync(join(outbox, 'ready')).length, 2, 'the two frames that fitted are durable');
    assert.deepEqual(readdirSync(join(outbox, 'tmp')), [], 'the failed write left no partial file');

    // Space comes back (someone clears the disk): the device's resend goes through.
    execFileSync('mount', ['-o', 'remount,size=8m', outbox]);
    const results = await Promise.all(acks);
    assert.deepEqual(results.map((r) => r.duplicate), [false, false, false]);

    const files = readdirSync(join(outbox, 'ready')).sort();
    assert.equal(files.length, 3, 'every frame sealed exactly once');
    const trust = parseCertificates(certificateDer);
    files.forEach((f, i) => {
      const report = verifyObject(f, readFileSync(join(outbox, 'ready', f)), trust);
      assert.equal(report.verdict, 'authentic', report.reasons.join('; '));
      assert.equal(report.capture?.rawSha256, createHash('sha256').update(sent[i]!.data).digest('hex'), 'bit-exact');
    });
  } finally {
    device?.close();
    await service?.stop();
    try { execFileSync('umount', [outbox]); } catch { /* not mounted */ }
    rmSync(dir, { recursive: true, force: true });
  }
});
