// Issue 5: kill -9 of the whole capture service at random points, then restart: no half-written
// object in the outbox, no frame lost, none sealed twice. The capture service runs as the built
// CLI (`node bin/radseal.js capture`, npm run build) in a child process on the host end of a socat
// pty; the simulator (device side, this process) sends N frames and keeps every unACKed frame
// until a capture process ACKs it. While it runs, the service is SIGKILLed several times at a
// random moment (a random delay after it logged a sealed frame: mid-frame, mid-seal, mid-write,
// between rename and ACK) and restarted on the same outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { runSimulator } from '../../../host/sim/sim.js';
import { safeName } from '../../../host/net/outbox.js';
import { projectRoot } from '../../../host/core/wasm.js';
import { testBoard } from '../link/harness.js';

const CLI = join(projectRoot(), 'bin', 'radseal.js');
const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'main.js'));
const FRAMES = Number(process.env.RADSEAL_KILL9_FRAMES ?? 14);
const KILLS = Number(process.env.RADSEAL_KILL9_KILLS ?? 4);

interface Capture {
  proc: ChildProcess;
  out: string;
  sealedLines: number;
  exited: Promise<void>;
}

test(`kill -9 of the capture service ${KILLS} times at random points while ${FRAMES} frames arrive: each frame sealed exactly once, bit-exact, nothing half-written`, { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 240000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-kill9-'));
  const keys = await generateDeviceKey('SIM-0001', join(dir, 'keys'));
  const board = testBoard('sim-pty', {
    link: { serial: { path: join(dir, 'host'), devicePath: join(dir, 'dev'), baudRate: 3000000 }, ackTimeoutMs: 300, maxAckTimeoutMs: 1500, maxRetries: 200 },
    detector: { deviceId: 'SIM-0001', rows: 1024, cols: 1024, bitsStored: 14 },
  });
  const boardFile = join(dir, 'board.json');
  writeFileSync(boardFile, JSON.stringify(board));
  const outbox = join(dir, 'outbox');
  const children: ChildProcess[] = [];
  const logs: string[] = [];

  const startCapture = (): Capture => {
    const proc = spawn(process.execPath, [CLI, 'capture', '--board', boardFile, '--key', keys.key, '--cert', keys.cert, '--outbox', outbox, '--status-every', '3600', '--patient-orientation', 'L\\F'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    const c: Capture = { proc, out: '', sealedLines: 0, exited: new Promise((r) => proc.once('exit', () => r())) };
    const onOut = (d: Buffer) => {
      c.out += d;
      c.sealedLines = (c.out.match(/ sealed -> /g) ?? []).length;
    };
    proc.stdout!.on('data', onOut);
    proc.stderr!.on('data', onOut);
    return c;
  };

  const kills: Array<{ afterSealed: number; delayMs: number }> = [];
  let partialsRemoved = 0;
  let cap = startCapture();
  let simDone = false;
  const stopSim = new AbortController();
  let sim: Promise<unknown> = Promise.resolve();
  try {
    const simRun = runSimulator(board, { frames: FRAMES, startSerial: 7000, distinctFrames: 3, signal: stopSim.signal }).finally(() => (simDone = true));
    sim = simRun;
    // The killer: after the current process has sealed a frame, wait a random 0-400 ms, SIGKILL it,
    // start a new one on the same outbox.
    for (let k = 0; k < KILLS && !simDone; k++) {
      const target = 1 + Math.floor(Math.random() * 2);
      while (cap.sealedLines < target && !simDone && cap.proc.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      if (simDone) break;
      const delayMs = Math.floor(Math.random() * 400);
      await new Promise((r) => setTimeout(r, delayMs));
      if (simDone) break;
      cap.proc.kill('SIGKILL');
      await cap.exited;
      kills.push({ afterSealed: cap.sealedLines, delayMs });
      logs.push(cap.out);
      cap = startCapture();
    }
    const rep = await simRun;
    // Graceful stop of the last process.
    cap.proc.kill('SIGTERM');
    await cap.exited;
    logs.push(cap.out);
    for (const l of logs) {
      const m = /removed (\d+) half-written file/.exec(l);
      if (m) partialsRemoved += Number(m[1]);
    }
    t.diagnostic(`kills: ${JSON.stringify(kills)}; half-written temporaries removed on restart: ${partialsRemoved}; device ${JSON.stringify(rep.device)}`);
    assert.ok(kills.length >= Math.min(KILLS, 2), `the service was killed ${kills.length} times`);
    assert.deepEqual(rep.failed, [], 'no frame given up by the device');
    assert.equal(rep.framesAcked, FRAMES, 'every frame ACKed (durable) in the end');

    // The outbox: only complete objects, none in tmp/, each (device, serial) once.
    assert.deepEqual(readdirSync(join(outbox, 'tmp')), [], 'no temporary left in tmp/');
    const files = readdirSync(join(outbox, 'ready')).sort();
    assert.deepEqual(files.filter((f) => !f.endsWith('.dcm')), [], 'only sealed objects in ready/');
    const trust = parseCertificates(readFileSync(keys.cert));
    const seen = new Map<number, string>();
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(join(outbox, 'ready', f)));
      const r = verifyObject(f, bytes, trust);
      assert.equal(r.verdict, 'authentic', `${f}: ${r.reasons.join('; ')}`);
      const att = readAttestation(readPart10(bytes).dataSet);
      assert.ok(att, `${f} carries a capture attestation`);
      assert.equal(att.deviceId, 'SIM-0001');
      assert.ok(!seen.has(att.frameSerial), `frame #${att.frameSerial} sealed twice (${seen.get(att.frameSerial)} and ${f})`);
      seen.set(att.frameSerial, f);
      assert.ok(f.endsWith(`-${safeName('SIM-0001')}-${att.frameSerial}.dcm`), `${f} named after its serial`);
      const sent = rep.sent.find((s) => s.serial === att.frameSerial);
      assert.ok(sent, `#${att.frameSerial} was sent by the simulator`);
      assert.equal(Buffer.from(att.rawFrameSha256).toString('hex'), sent.sha256, `#${att.frameSerial}: attested raw SHA-256 is the frame's`);
      assert.equal(r.capture?.rawSha256, sent.sha256);
    }
    assert.deepEqual([...seen.keys()].sort((a, b) => a - b), rep.sent.map((s) => s.serial), 'every frame sealed, exactly once');
    const journal = readFileSync(join(outbox, 'sealed.log'), 'utf8').split('\n').filter((l) => /^SIM-0001\t\d+$/.test(l));
    assert.equal(new Set(journal).size, journal.length, 'sealed.log names no frame twice');
  } finally {
    stopSim.abort();
    await sim.catch(() => {});
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    rmSync(dir, { recursive: true, force: true });
  }
});
