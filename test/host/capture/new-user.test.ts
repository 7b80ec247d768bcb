// What a new user ran into, each fixed: a certificate given as --key is named as such (not as a
// "loose key file"); a missing output folder is named (not our temporary file); the capture log
// reads "N ms queued" on one clock (it mixed performance.now() with Date.now()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { radseal, tempDir } from '../support/run.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { CaptureService } from '../../../host/capture/service.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { testBoard } from '../link/harness.js';

test('CLI: a certificate as --key says "is a certificate, not a private key" (seal and capture)', async () => {
  const dir = tempDir('radseal-newuser-');
  const keys = await generateDeviceKey('DX-NEW-1', join(dir, 'keys'));
  chmodSync(keys.cert, 0o644);
  const frame = join(dir, 'f.raw');
  writeFileSync(frame, new Uint8Array(64 * 64 * 2));
  const seal = radseal('seal', '--key', keys.cert, '--cert', keys.cert, '--in', frame, '--rows', '64', '--cols', '64', '--out', join(dir, 'x.dcm'));
  assert.notEqual(seal.code, 0);
  assert.match(seal.stderr, /is a certificate, not a private key/, seal.stderr);
  assert.doesNotMatch(seal.stderr, /accessible by others|chmod/);
  const capture = radseal('capture', '--board', 'gige-tcp-bridge', '--key', keys.cert, '--cert', keys.cert, '--outbox', join(dir, 'outbox'));
  assert.notEqual(capture.code, 0);
  assert.match(capture.stderr, /is a certificate, not a private key/, capture.stderr);
});

test('CLI: seal --out into a missing folder names the folder, not a temporary file', async () => {
  const dir = tempDir('radseal-newuser-out-');
  const keys = await generateDeviceKey('DX-NEW-2', join(dir, 'keys'));
  const frame = join(dir, 'f.raw');
  writeFileSync(frame, new Uint8Array(64 * 64 * 2));
  const r = radseal('seal', '--key', keys.key, '--cert', keys.cert, '--in', frame, '--rows', '64', '--cols', '64', '--bits-stored', '12', '--tile-size', '0', '--patient-orientation', 'L\\F', '--pixel-spacing', '0.139', '--out', '/nonexistent/x.dcm');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /output folder \/nonexistent does not exist/, r.stderr);
  assert.doesNotMatch(r.stderr, /\.tmp|\.x\.dcm\./);
});

test('capture log: queued and seal times on one clock (small, non-negative numbers)', async (t) => {
  const dir = tempDir('radseal-newuser-log-');
  const keys = await generateDeviceKey('SIM-LOG-1', join(dir, 'keys'));
  const board = testBoard('gige-tcp-bridge', {
    link: { tcp: { host: '127.0.0.1', port: 0, captureRole: 'listen' } },
    detector: { deviceId: 'SIM-LOG-1', rows: 256, cols: 256, bitsStored: 14 },
  });
  const logs: string[] = [];
  const svc = new CaptureService({ board, device: loadDeviceIdentity(keys.key, keys.cert, 'test'), outboxDir: join(dir, 'outbox'), log: (m) => logs.push(m) });
  t.after(() => svc.stop());
  await svc.start();
  const rep = await runSimulator(board, { frames: 2, startSerial: 700, port: `127.0.0.1:${svc.connector.boundPort}` });
  assert.equal(rep.framesAcked, 2);
  const lines = logs.filter((l) => / sealed -> /.test(l));
  assert.equal(lines.length, 2, logs.join('\n'));
  for (const l of lines) {
    const m = /; (-?\d+) ms queued behind other frames, then (-?\d+) ms to seal and store\)/.exec(l);
    assert.ok(m, l);
    for (const n of [Number(m[1]), Number(m[2])]) assert.ok(n >= 0 && n < 60000, l);
  }
});
