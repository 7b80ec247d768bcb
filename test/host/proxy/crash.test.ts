// kill -9 of `radseal proxy` (the CLI, as deployed) in the middle of a batch
// that storescu sends as the modality, then a restart and the modality sending
// the batch again (it cannot know which objects were kept): every object reaches
// PACS (storescp), each is sealed exactly once, nothing half-written stays.
// Network: run inside a private namespace (see docs/CONTRIBUTING.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDx } from '../net/dicom-fixture.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { radseal, ROOT, tempDir } from '../support/run.js';
import { filesIn, sopInstanceUidOf, storescu, waitFor } from './fixtures.js';

const BATCH = Number(process.env.RADSEAL_PROXY_CRASH_BATCH ?? 50);
const dir = tempDir('radseal-proxy-crash-');

interface RunningProxy {
  proc: ChildProcess;
  sealedLines: () => number;
  exited: Promise<void>;
}

async function startProxy(port: number, pacsPort: number, outbox = join(dir, 'outbox')): Promise<RunningProxy & { log: () => string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'radseal.js'), 'proxy', '--listen', `127.0.0.1:${port}`, '--ae', 'RADPROXY',
    '--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt'), '--outbox', outbox,
    '--forward', `PACS@127.0.0.1:${pacsPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  await waitFor('the proxy to listen', () => out.includes('proxy: listening on'), 15000);
  return { proc, exited, sealedLines: () => (out.match(/ sealed \(/g) ?? []).length, log: () => out };
}

test(`kill -9 of the proxy during a ${BATCH}-object batch, restart, resend: every object delivered, each sealed exactly once`, async () => {
  assert.equal(radseal('keygen', '--id', 'PROXY-CRASH', '--out', join(dir, 'keys')).code, 0);
  const { files, uids } = writeObjects(join(dir, 'batch'), BATCH, 0, 256);
  const pacs = await startStoreScp(join(dir, 'pacs'), await freePort());
  after(() => pacs.stop());
  const port = await freePort();

  const first = await startProxy(port, pacs.port);
  const sending = storescu(port, files);
  // Kill at a point that moves from run to run: after a third to a half of the batch is sealed.
  const killAfter = Math.floor(BATCH / 3 + Math.random() * (BATCH / 6));
  await waitFor('part of the batch to be sealed', () => first.sealedLines() >= killAfter, 30000);
  first.proc.kill('SIGKILL');
  await first.exited;
  const cut = await sending;
  assert.notEqual(cut.code, 0, 'the modality saw the association break');

  const second = await startProxy(port, pacs.port);
  const resent = await storescu(port, files);
  assert.equal(resent.code, 0, resent.out);
  const outbox = join(dir, 'outbox');
  await waitFor('every object at PACS and the queue empty', () => filesIn(join(outbox, 'ready')).length === 0
    && new Set(filesIn(pacs.dir).map(sopInstanceUidOf)).size === BATCH, 30000);
  second.proc.kill('SIGTERM');
  await second.exited;

  // Sealed exactly once: one outbox object per SOP Instance UID, none refused, nothing half-written left.
  const sent = filesIn(join(outbox, 'sent'));
  assert.equal(sent.length, BATCH, `one sealed object per received object (${sent.length})`);
  assert.deepEqual(new Set(sent.map(sopInstanceUidOf)), new Set(uids));
  assert.equal(filesIn(join(outbox, 'dead-letter')).length, 0);
  assert.deepEqual(existsSync(join(outbox, 'tmp')) ? readdirSync(join(outbox, 'tmp')) : [], []);
  // Delivered: every object at PACS, authentic. A crash between PACS's answer and the queue's
  // record can deliver one object twice; any second copy must be the same sealed object.
  const atPacs = filesIn(pacs.dir);
  const byUid = new Map<string, Buffer[]>();
  for (const f of atPacs) byUid.set(sopInstanceUidOf(f), [...(byUid.get(sopInstanceUidOf(f)) ?? []), readFileSync(f)]);
  assert.deepEqual(new Set(byUid.keys()), new Set(uids));
  for (const copies of byUid.values()) for (const c of copies) assert.ok(c.subarray(-64).equals(copies[0]!.subarray(-64)));
  const v = radseal('verify', '--trust', join(dir, 'keys', 'device.crt'), '--json', ...atPacs);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
  console.log(`# killed after ${killAfter} sealed; ${atPacs.length} file(s) at PACS for ${BATCH} objects`);
});

test('kill -9 while the pixels are being written to a draft in the outbox: the draft is removed on restart, every object sealed once', async () => {
  if (!existsSync(join(dir, 'keys', 'device.key'))) assert.equal(radseal('keygen', '--id', 'PROXY-CRASH', '--out', join(dir, 'keys')).code, 0);
  // Large enough (8 MB) that the draft is open for a while; the first object of a run has none (no calling AE seen yet).
  const { files, uids } = writeObjects(join(dir, 'large'), 6, 1000, 2048);
  const pacs = await startStoreScp(join(dir, 'pacs-large'), await freePort());
  after(() => pacs.stop());
  const port = await freePort();
  const outbox = join(dir, 'outbox-large');
  const tmp = join(outbox, 'tmp');
  const first = await startProxy(port, pacs.port, outbox);
  const sending = storescu(port, files);
  await waitFor('a draft in tmp/ after an object sealed', () => first.sealedLines() >= 1 && existsSync(tmp) && readdirSync(tmp).some((f) => f.startsWith('.draft.')), 30000);
  first.proc.kill('SIGKILL');
  await first.exited;
  await sending;
  assert.ok(readdirSync(tmp).some((f) => f.startsWith('.draft.')), 'the kill left a draft behind');

  const second = await startProxy(port, pacs.port, outbox);
  assert.match(second.log(), /removed \d+ half-written file\(s\) left by a crash/);
  const resent = await storescu(port, files);
  assert.equal(resent.code, 0, resent.out);
  await waitFor('every object at PACS and the queue empty', () => filesIn(join(outbox, 'ready')).length === 0
    && new Set(filesIn(pacs.dir).map(sopInstanceUidOf)).size === files.length, 30000);
  second.proc.kill('SIGTERM');
  await second.exited;
  const sent = filesIn(join(outbox, 'sent'));
  assert.equal(sent.length, files.length);
  assert.deepEqual(new Set(sent.map(sopInstanceUidOf)), new Set(uids));
  assert.deepEqual(readdirSync(tmp), []);
  const v = radseal('verify', '--trust', join(dir, 'keys', 'device.crt'), '--json', ...sent);
  assert.equal(v.code, 0, v.stdout.slice(0, 2000));
});

/** `count` DX objects of size x size pixels (serials from `first`) written into `folder`, in name order. */
function writeObjects(folder: string, count: number, first: number, size: number): { files: string[]; uids: string[] } {
  mkdirSync(folder, { recursive: true });
  const files: string[] = [];
  const uids: string[] = [];
  for (let n = 0; n < count; n++) {
    const dx = makeDx(first + n, size, size);
    const f = join(folder, `${String(n).padStart(3, '0')}.dcm`);
    writeFileSync(f, dx.bytes);
    files.push(f);
    uids.push(dx.sopInstanceUid);
  }
  return { files, uids };
}
