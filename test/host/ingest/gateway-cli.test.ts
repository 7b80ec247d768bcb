// `radseal ingest` as an administrator runs it (the built CLI): the limits options reach the
// gateway (an object over --max-object-bytes is refused, A700), the start line names the limits,
// and the status line (at shutdown, and every --status-every seconds) counts what came in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../host/core/wasm.js';
import { tempDir } from '../dicom/fixtures.js';
import { makeObjects } from '../../services/ingest-fixtures.js';

const CLI = join(projectRoot(), 'bin', 'radseal.js');
const BUILT = existsSync(join(projectRoot(), 'dist', 'host', 'cli', 'main.js'));
const storescu = (port: number, f: string) => new Promise<string>((res) => execFile('storescu', ['-v', '-aec', 'RADSEAL', '127.0.0.1', String(port), f], (_e, so, se) => res(so + se)));

test('CLI ingest: --max-object-bytes refuses with A700; start line names the limits; status line counts', { skip: BUILT ? false : 'dist/ missing: run npm run build first', timeout: 60000 }, async (t) => {
  const dir = tempDir(t, 'radseal-gw-cli-');
  const objs = await makeObjects(dir, 2, 128, 128);
  const proc = spawn(process.execPath, [CLI, 'ingest', '--listen', '127.0.0.1:0', '--trust', objs.ids.trustPem, '--store', join(dir, 'store'), '--quarantine', join(dir, 'q'),
    '--audit', join(dir, 'audit.jsonl'), '--max-object-bytes', '20KiB', '--max-buffered-bytes', '1MiB', '--status-every', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const end = Date.now() + 20000;
  while (!/listening on 127\.0\.0\.1:\d+/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  assert.ok(port, out);
  assert.match(out, /limits: 20 KiB per object, 1 MiB buffered/);
  const big = join(dir, 'big.dcm');
  writeFileSync(big, objs.sealed[0]!);
  assert.match(await storescu(port, big), /Refused: OutOfResources/);
  while (!/status: received 1/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.match(out, /status: received 1$/m, 'the periodic status line');
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  assert.match(out, /refused unverified \(audit #1\)/);
});
