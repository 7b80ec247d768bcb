// A capture station without a worklist (a fixed stand) says the Patient Orientation and View
// Position of its exposures in its configuration, or capture does not start: never an empty or a
// guessed orientation signed into an image. dicom3tools dciodvfy is the independent judge.
// Runs the built CLI (dist/) with radseal sim over a socat pty, as test/host/capture/cli.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../host/core/wasm.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { jsonLines, radseal, run, startRadseal } from '../support/run.js';
import { testBoard } from '../link/harness.js';

const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'main.js'));

test('capture without a worklist: refused without a station orientation; with one, every image carries it and dciodvfy finds no orientation error', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 120000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-positioning-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  });
  const board = testBoard('sim-pty', {
    link: { serial: { path: join(dir, 'host'), devicePath: join(dir, 'dev'), baudRate: 3000000 } },
    detector: { deviceId: 'SIM-POS-1', rows: 128, cols: 96, bitsStored: 14 },
  });
  const boardFile = join(dir, 'board.json');
  writeFileSync(boardFile, JSON.stringify(board));
  const kg = radseal('keygen', '--id', 'SIM-POS-1', '--out', join(dir, 'keys'));
  assert.equal(kg.code, 0, kg.stderr);
  const outbox = join(dir, 'outbox');
  const base = ['capture', '--board', boardFile, '--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt'), '--outbox', outbox, '--status-every', '3600'];

  // Nothing said: the service does not start (no empty orientation is ever signed).
  const none = radseal(...base);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /capture without --worklist needs --patient-orientation ROW\\COL .*\[capture\] patient-orientation/, none.stderr);
  const viewOnly = radseal(...base, '--view-position', 'PA');
  assert.match(viewOnly.stderr, /needs --patient-orientation/, 'a view alone is not an orientation');
  const bad = radseal(...base, '--patient-orientation', 'L\\R');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--patient-orientation: Patient Orientation "L\\R" must be/, bad.stderr);
  // With a worklist the technologist says it per procedure: a station value would hide a missing one.
  const both = radseal(...base, '--worklist', 'RIS@127.0.0.1:1', '--patient-orientation', 'L\\F');
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /--patient-orientation\/--view-position are for a station without --worklist/, both.stderr);
  assert.ok(!existsSync(join(outbox, 'ready')) || readdirSync(join(outbox, 'ready')).length === 0);

  // From the station config's [capture] section, as an installed fixed stand has it: a left lateral.
  const config = join(dir, 'radseal.toml');
  writeFileSync(config, '[capture]\npatient-orientation = "A\\\\F"\nview-position = "LL"\n');
  const capture = startRadseal([...base, '--config', config], { children });
  const sim = await startRadseal(['sim', '--board', boardFile, '--frames', '2', '--start-serial', '5100', '--quiet'], { children }).done;
  assert.equal(sim.code, 0, sim.out);
  capture.proc.kill('SIGTERM');
  const cap = await capture.done;
  assert.equal(cap.code, 0, cap.out);
  assert.match(cap.out, /every exposure A\\F LL \(station positioning\)/);
  const files = readdirSync(join(outbox, 'ready')).sort().map((f) => join(outbox, 'ready', f));
  assert.equal(files.length, 2);
  for (const f of files) {
    const ds = readPart10(new Uint8Array(readFileSync(f))).dataSet;
    assert.equal(decodeString(findElement(ds, tag(0x0020, 0x0020))!.value), 'A\\F');
    assert.equal(decodeString(findElement(ds, tag(0x0018, 0x5101))!.value), 'LL');
    const v = run('dciodvfy', [f]);
    const out = v.stdout + v.stderr;
    assert.match(out, /DXImageForPresentation/, 'dciodvfy recognised the IOD');
    const errors = out.split('\n').filter((l) => /^Error/.test(l));
    assert.deepEqual(errors.filter((l) => /Patient ?Orientation|0x0020,0x0020/i.test(l)), [], out);
    t.diagnostic(`dciodvfy: ${errors.length} error line(s) left: ${errors.join(' | ') || 'none'}`);
  }
  const ver = radseal('verify', '--trust', join(dir, 'keys', 'device.crt'), '--json', ...files);
  assert.equal(ver.code, 0, ver.stdout + ver.stderr);
  for (const r of jsonLines<{ verdict: string }>(ver.stdout)) assert.equal(r.verdict, 'authentic');
});
