// radseal capture with --forward given twice, end to end through the built CLI: radseal sim over a
// socat pty as the detector, two DCMTK storescp as PACS and VNA, the second down at first. Every
// sealed object reaches both; nothing moves to sent/ before the second took it; the status names
// what waits for each target. Network: run inside a private namespace (storescp binds every interface).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../host/core/wasm.js';
import { radseal, startRadseal } from '../support/run.js';
import { testBoard } from '../link/harness.js';
import { freePort, startStoreScp, type StoreScp } from '../net/storescp.js';

const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'main.js'));
const until = async (ok: () => boolean, ms = 30000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return ok();
};
const dcm = (d: string) => (existsSync(d) ? readdirSync(d).filter((f) => !f.startsWith('.')) : []);

test('capture --forward A --forward B: B down, then up: every object at both, sent/ only after both', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 120000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-fwd-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const children: ChildProcess[] = [];
  let b: StoreScp | undefined;
  t.after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await b?.stop();
  });
  const board = testBoard('sim-pty', {
    link: { serial: { path: join(dir, 'host'), devicePath: join(dir, 'dev'), baudRate: 3000000 } },
    detector: { deviceId: 'SIM-FWD-1', rows: 128, cols: 128, bitsStored: 14 },
  });
  const boardFile = join(dir, 'board.json');
  writeFileSync(boardFile, JSON.stringify(board));
  assert.equal(radseal('keygen', '--id', 'SIM-FWD-1', '--out', join(dir, 'keys')).code, 0);
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startStoreScp(join(dir, 'pacs'), portA, 'PACS');
  t.after(() => a.stop());
  const outbox = join(dir, 'outbox');
  const FRAMES = 3;
  const capture = startRadseal(['capture', '--board', boardFile, '--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt'),
    '--outbox', outbox, '--status-every', '1', '--patient-orientation', 'L\\F', '--calling-ae', 'DXROOM9',
    '--forward', `PACS@127.0.0.1:${portA}`, '--forward', `VNA@127.0.0.1:${portB}`], { children });
  const sim = await startRadseal(['sim', '--board', boardFile, '--frames', String(FRAMES), '--start-serial', '6100', '--quiet'], { children }).done;
  assert.equal(sim.code, 0, sim.out);
  assert.ok(await until(() => dcm(a.dir).length === FRAMES), `PACS got ${dcm(a.dir).length}\n${capture.output()}`);
  assert.ok(await until(() => new RegExp(`VNA@127\\.0\\.0\\.1:${portB}: forwarded 0, retried \\d+, refused 0; ${FRAMES} waiting`).test(capture.output())), capture.output());
  assert.equal(dcm(join(outbox, 'sent')).length, 0, 'nothing in sent/ while the VNA has not taken it');
  assert.equal(dcm(join(outbox, 'ready')).length, FRAMES);

  b = await startStoreScp(join(dir, 'vna'), portB, 'VNA');
  assert.ok(await until(() => dcm(join(outbox, 'sent')).length === FRAMES), `sent/ ${dcm(join(outbox, 'sent')).length}\n${capture.output()}`);
  capture.proc.kill('SIGTERM');
  const cap = await capture.done;
  assert.equal(cap.code, 0, cap.out);
  assert.match(cap.out, /forwarding to PACS@127\.0\.0\.1:\d+, VNA@127\.0\.0\.1:\d+/);
  assert.equal(dcm(b.dir).length, FRAMES);
  assert.equal(dcm(a.dir).length, FRAMES, 'the PACS got nothing twice while the VNA was retried');
  assert.deepEqual(dcm(join(outbox, 'ready')), []);
  // Both received the sealed objects' own bytes (storescp +B writes what arrived).
  const sent = new Set(dcm(join(outbox, 'sent')).map((f) => readFileSync(join(outbox, 'sent', f)).subarray(132).toString('hex').slice(-4096)));
  for (const scp of [a, b]) for (const f of dcm(scp.dir)) assert.ok(sent.has(readFileSync(join(scp.dir, f)).toString('hex').slice(-4096)), `${scp.dir}/${f}`);
});
