// The built CLI end to end: `radseal capture --technologists DIR --without-technologist hold`,
// `radseal sim` as the detector, `radseal tech login|confirm|status|logout` as the technologist
// (PIN on stdin), then `radseal verify --require-technologist` on what was sealed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, jsonLines, radseal, startRadseal, tempDir } from '../support/run.js';
import { generateDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { testBoard } from '../link/harness.js';
import { freePort } from '../net/storescp.js';
import { sessionEndpointFor, withCallingAe, withoutTechnologistOf } from '../../../host/cli/station-options.js';

const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'));
const PIN = 'cli-pin-3141';

test('CLI: capture holds an exposure while nobody is logged in; tech login (PIN on stdin) + confirm seal it co-signed; the next one is co-signed at once; logout; every step in session.log', { skip: BUILT ? false : 'dist/ missing: run npx tsc -p tsconfig.json first', timeout: 120000 }, async (t) => {
  const dir = tempDir('radseal-session-cli-');
  const keys = await generateDeviceKey('SIM-CLI-S', join(dir, 'keys'));
  const tech = await generateTechnologistKey('T300', join(dir, 'technologists'), PIN);
  const board = testBoard('gige-tcp-bridge', { link: { tcp: { host: '127.0.0.1', port: await freePort(), captureRole: 'listen' } }, detector: { deviceId: 'SIM-CLI-S', rows: 64, cols: 64, bitsStored: 12 } });
  const boardFile = join(dir, 'board.json');
  writeFileSync(boardFile, JSON.stringify(board));
  const outbox = join(dir, 'outbox');
  const capture = startRadseal(['capture', '--board', boardFile, '--key', keys.key, '--cert', keys.cert, '--outbox', outbox, '--status-every', '3600', '--patient-orientation', 'L\\F',
    '--technologists', join(dir, 'technologists'), '--without-technologist', 'hold', '--tech-idle-minutes', '5']);
  t.after(() => { if (capture.proc.exitCode === null) capture.proc.kill('SIGKILL'); });
  const socket = join(outbox, 'session', 'control.sock');
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(socket), 'the capture service opened its session socket');

  const sim = (serial: number) => startRadseal(['sim', '--board', boardFile, '--frames', '1', '--start-serial', String(serial - 1), '--quiet']).done;
  assert.equal((await sim(100)).code, 0);
  assert.equal(readdirSync(join(outbox, 'held')).length, 1, 'held while nobody is logged in');
  assert.deepEqual(readdirSync(join(outbox, 'ready')), []);

  const login = await startRadseal(['tech', 'login', '--outbox', outbox, '--id', 'T300'], { input: `${PIN}\n` }).done;
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /logged in: T300/);
  assert.match(login.stdout, /1 exposure\(s\) held for confirmation/);
  const confirm = await startRadseal(['tech', 'confirm', '--outbox', outbox]).done;
  assert.match(confirm.stdout, /confirmed 1 held exposure/, confirm.stderr);
  assert.equal((await sim(101)).code, 0);
  const status = await startRadseal(['tech', 'status', '--outbox', outbox, '--json']).done;
  assert.equal(JSON.parse(status.stdout).session.operatorId, 'T300');
  const logout = await startRadseal(['tech', 'logout', '--outbox', outbox]).done;
  assert.match(logout.stdout, /logged out: T300/);

  capture.proc.kill('SIGTERM');
  const cap = await capture.done;
  assert.equal(cap.code, 0, cap.stderr);
  assert.match(cap.stdout, /session: T300 logged in/);
  assert.ok(!(cap.stdout + cap.stderr).includes(PIN), 'the PIN never reaches the capture log');

  const files = readdirSync(join(outbox, 'ready')).sort().map((f) => join(outbox, 'ready', f));
  assert.equal(files.length, 2);
  writeFileSync(join(dir, 'trust.pem'), readFileSync(keys.cert, 'utf8') + readFileSync(tech.cert, 'utf8'));
  const v = radseal('verify', '--trust', join(dir, 'trust.pem'), '--require-technologist', '--json', ...files);
  assert.equal(v.code, 0, v.stdout);
  const reports = jsonLines<{ verdict: string; technologist: { signer: string } }>(v.stdout);
  assert.equal(reports.length, files.length);
  for (const r of reports) {
    assert.equal(r.verdict, 'authentic');
    assert.equal(r.technologist.signer, 'T300');
  }
  const events = readFileSync(join(outbox, 'session.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).event);
  assert.deepEqual(events, ['login', 'confirm', 'logout']);
});

test('station options: the board sessions block gives the defaults, flags override; hold needs sessions; calling AE checked; the schema names bad session fields', () => {
  const board = testBoard('gige-tcp-bridge', { sessions: { idleTimeoutMinutes: 12, withoutTechnologist: 'hold' } });
  const ep = sessionEndpointFor({ technologists: '/nonexistent', keepSentDays: 7 }, board, '/tmp/x', { log: () => {} })!;
  assert.equal(ep.session.idleTimeoutMs, 12 * 60_000);
  assert.equal(ep.status().withoutTechnologist, 'hold');
  const flagged = sessionEndpointFor({ technologists: '/nonexistent', techIdleMinutes: 3, withoutTechnologist: 'device-only', keepSentDays: 7 }, board, '/tmp/x', { log: () => {} })!;
  assert.equal(flagged.session.idleTimeoutMs, 3 * 60_000);
  assert.equal(flagged.status().withoutTechnologist, 'device-only');
  assert.equal(sessionEndpointFor({ keepSentDays: 7 }, board, '/tmp/x', { log: () => {} }), undefined, 'no --technologists: no sessions');
  assert.throws(() => withoutTechnologistOf({ keepSentDays: 7 }, board), /needs technologist sessions: give --technologists/);
  assert.throws(() => withoutTechnologistOf({ technologists: 'd', withoutTechnologist: 'later', keepSentDays: 7 }, board), /device-only or hold/);
  assert.deepEqual(withCallingAe({ calledAe: 'PACS', host: 'h', port: 104 }, 'DXROOM3'), { calledAe: 'PACS', host: 'h', port: 104, callingAe: 'DXROOM3' });
  assert.throws(() => withCallingAe({ url: 'https://pacs/studies' }, 'DXROOM3'), /not to a STOW-RS URL/);
  assert.throws(() => withCallingAe({ calledAe: 'PACS', host: 'h', port: 104 }, 'A-NAME-LONGER-THAN-16'), /--calling-ae: AE title "A-NAME-LONGER-THAN-16" is 21 characters long; DICOM allows 16/);
  assert.throws(() => testBoard('gige-tcp-bridge', { sessions: { idleTimeoutMinutes: 0, whenever: true } }), /\/sessions\/whenever: unknown field\n  \/sessions\/idleTimeoutMinutes: must be >= 1/);
});
