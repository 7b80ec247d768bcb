// The built CLI end to end over a socat pty: `radseal keygen`, `radseal capture` (host end),
// `radseal sim` (creates the pty pair, device end), then `radseal verify` on every sealed object.
// Runs dist/ (npm run build), as CONTRIBUTING asks of CLI tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../host/core/wasm.js';
import { jsonLines, startRadseal } from '../support/run.js';
import { baseFor, exposeFrame } from '../../../host/sim/frames.js';
import { testBoard } from '../link/harness.js';

const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'main.js'));


test('CLI: radseal sim + radseal capture over a socat pty, then radseal verify: every object authentic, raw SHA-256 = the frame sent', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 120000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-cli-link-'));
  const children: ChildProcess[] = [];
  const FRAMES = 4;
  const START = 4200;
  try {
    const board = testBoard('sim-pty', {
      link: { serial: { path: join(dir, 'host'), devicePath: join(dir, 'dev'), baudRate: 3000000 } },
      detector: { deviceId: 'SIM-CLI-1', rows: 512, cols: 512, bitsStored: 14 },
      keys: { ecdsaSignature: true }, // the board turns on the DCMTK-verifiable second signature
    });
    const boardFile = join(dir, 'board.json');
    writeFileSync(boardFile, JSON.stringify(board));
    const kg = await startRadseal(['keygen', '--id', 'SIM-CLI-1', '--out', join(dir, 'keys'), '--ecdsa'], { children }).done;
    assert.equal(kg.code, 0, kg.out);
    const key = join(dir, 'keys', 'device.key');
    const cert = join(dir, 'keys', 'device.crt');
    const outbox = join(dir, 'outbox');

    const capture = startRadseal(['capture', '--board', boardFile, '--key', key, '--cert', cert, '--outbox', outbox, '--status-every', '3600', '--patient-orientation', 'L\\F'], { children });
    const sim = await startRadseal(['sim', '--board', boardFile, '--frames', String(FRAMES), '--start-serial', String(START), '--quiet'], { children }).done;
    assert.equal(sim.code, 0, sim.out);
    assert.match(sim.out, new RegExp(`sim: ${FRAMES}/${FRAMES} frames ACKed \\(0 as duplicates\\), 0 failed`));
    capture.proc.kill('SIGTERM');
    const cap = await capture.done;
    assert.equal(cap.code, 0, cap.out);
    assert.match(cap.out, new RegExp(`frames received ${FRAMES}, sealed ${FRAMES}, forwarded 0, retried 0, rejected 0`), cap.out);
    t.diagnostic(sim.out.trim().split('\n')[0]!);

    const files = readdirSync(join(outbox, 'ready')).sort().map((f) => join(outbox, 'ready', f));
    assert.equal(files.length, FRAMES);
    const ver = await startRadseal(['verify', '--trust', cert, '--json', ...files], { children }).done;
    assert.equal(ver.code, 0, ver.out);
    const reports = jsonLines<{ verdict: string; capture: { deviceId: string; rawSha256: string } }>(ver.stdout);
    assert.equal(reports.length, FRAMES);
    // The simulator's frames are deterministic: exposure n uses seed start+n+1 (n < 4 distinct).
    const base = baseFor(512, 512);
    const expected = Array.from({ length: FRAMES }, (_, n) => createHash('sha256').update(exposeFrame(base, 14, START + n + 1)).digest('hex'));
    reports.forEach((r, i) => {
      assert.equal(r.verdict, 'authentic', files[i]);
      assert.equal(r.capture.deviceId, 'SIM-CLI-1');
      assert.equal(r.capture.rawSha256, expected[i], `${files[i]}: bit-exact`);
    });
    // The board's ecdsaSignature: DCMTK verifies the device's P-256 signature (#3, after the two Ed25519 ones).
    const dcm = spawnSync('dcmsign', ['--verify', '+cf', join(dir, 'keys', 'device-ecdsa.crt'), files[0]!], { encoding: 'utf8' });
    assert.match(dcm.stdout + dcm.stderr, /Signature #3 UID=[\d.]+\nW: +Signature Verification : OK/, dcm.stdout + dcm.stderr);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    rmSync(dir, { recursive: true, force: true });
  }
});
