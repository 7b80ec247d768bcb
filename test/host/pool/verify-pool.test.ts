// The verify pool as its callers meet it: every object the source yields comes back exactly once
// (verified, or an error naming why not), reading stops while the consumer is slow, and a worker
// that gets stuck is replaced with its object reported, never skipped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startVerifyPool, verifyFiles, type PoolResult } from '../../../host/ingest/pool/verify-pool.js';
import { workerModule } from '../../../host/io/worker.js';
import { walkTree, looksLikeDicom } from '../../../host/ingest/pool/dicom-files.js';
import { tempDir } from '../dicom/fixtures.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { makeObjects, type Objects } from '../../services/ingest-fixtures.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// One set of keys and objects for the file: key generation is the slow part of set-up.
const sharedDir = mkdtempSync(join(tmpdir(), 'radseal-pool-'));
after(() => rmSync(sharedDir, { recursive: true, force: true }));
let shared: Promise<{ dir: string; objs: Objects }> | null = null;
const fixture = () => (shared ??= makeObjects(sharedDir, 3, 96, 128).then((objs) => ({ dir: sharedDir, objs })));

async function collect(it: AsyncIterable<PoolResult>): Promise<PoolResult[]> {
  const out: PoolResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}

test('pool: verdicts, hashes and errors for a folder, each object exactly once', async () => {
  const { dir, objs } = await fixture();
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'a', 'b'), { recursive: true });
  const files: Record<string, Uint8Array> = { 'a/one': objs.sealed[0]!, 'a/b/two.dcm': objs.sealed[1]!, 'a/b/tampered': objs.tampered, unsigned: objs.unsigned, 'notes.txt': new TextEncoder().encode('not DICOM') };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(tree, name), bytes);
  writeFileSync(join(tree, '.partial'), objs.sealed[2]!); // hidden: a writer's temporary file

  const entries = [...walkTree(tree)];
  assert.deepEqual(entries.map((e) => e.name), ['a/b/tampered', 'a/b/two.dcm', 'a/one', 'notes.txt', 'unsigned']);
  const dicom = entries.filter((e) => e.kind === 'file' && looksLikeDicom(e.path)).map((e) => e.path);
  assert.equal(dicom.length, 4);

  const missing = join(tree, 'gone.dcm');
  const results = await collect(verifyFiles([...dicom, join(tree, 'notes.txt'), missing, { path: join(tree, 'a') }], { trust: objs.ids.trustPem, workers: 2 }));
  const by = new Map(results.map((r) => [r.path.slice(tree.length + 1), r]));
  assert.equal(results.length, 7);
  assert.equal(by.size, 7, 'each path once');
  assert.equal(by.get('a/one')!.report!.verdict, 'authentic');
  assert.equal(by.get('a/b/two.dcm')!.report!.verdict, 'authentic');
  assert.equal(by.get('a/b/tampered')!.report!.verdict, 'tampered');
  assert.equal(by.get('unsigned')!.report!.verdict, 'unsigned');
  assert.equal(by.get('notes.txt')!.report!.verdict, 'invalid');
  assert.equal(by.get('a/one')!.fileSha256, sha(objs.sealed[0]!));
  assert.equal(by.get('a/b/tampered')!.size, objs.tampered.length);
  assert.equal(by.get('a/one')!.attributes!.modality, 'DX');
  assert.equal(by.get('a/one')!.report!.sopInstanceUid, by.get('a/b/tampered')!.report!.sopInstanceUid);
  assert.match(by.get('gone.dcm')!.error!, /cannot read .*gone\.dcm: ENOENT/);
  assert.match(by.get('a')!.error!, /cannot read .*: EISDIR/);
  assert.equal(by.get('a')!.fileSha256, null);

  // describe: false (batch verify): the same verdicts and sizes, without the file hash and attributes.
  const plain = await collect(verifyFiles([...dicom, missing], { trust: objs.ids.trustPem, workers: 2, describe: false }));
  assert.equal(plain.length, 5);
  for (const r of plain) {
    const full = by.get(r.path.slice(tree.length + 1))!;
    assert.equal(r.report?.verdict, full.report?.verdict, r.path);
    assert.equal(r.size, full.size, r.path);
    assert.equal(r.fileSha256, null, r.path);
    assert.equal(r.attributes ?? null, null, r.path);
  }
});

test('pool: back-pressure: the source is read only as far as the consumer takes results', async () => {
  const { dir, objs } = await fixture();
  const f = join(dir, 'sealed-0.dcm');
  let pulled = 0;
  async function* source() {
    for (let i = 0; i < 40; i++) {
      pulled++;
      yield f;
    }
  }
  let consumed = 0;
  let most = 0;
  for await (const r of verifyFiles(source(), { trust: objs.ids.trustPem, workers: 2, maxInFlight: 4 })) {
    assert.equal(r.report!.verdict, 'authentic');
    consumed++;
    most = Math.max(most, pulled - consumed);
    await new Promise((res) => setTimeout(res, 20)); // a slow consumer (a database write)
  }
  assert.equal(consumed, 40);
  assert.ok(most <= 4 + 1, `at most maxInFlight taken ahead of the consumer, saw ${most}`);
});

test('pool: a stuck worker is stopped and replaced; its object is an error, the rest are verified', async (t) => {
  const { dir, objs } = await fixture();
  const f = join(dir, 'sealed-0.dcm');
  const server = createServer(() => { /* never answers */ });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  server.unref();
  const port = (server.address() as { port: number }).port;
  const source = [f, { path: 'pacs:hangs', url: `http://127.0.0.1:${port}/file` }, f, f, f];
  const results = await collect(verifyFiles(source, { trust: objs.ids.trustPem, workers: 1, timeoutMs: 1500 }));
  assert.equal(results.length, 5);
  const stuck = results.filter((r) => r.error);
  assert.equal(stuck.length, 1);
  assert.equal(stuck[0]!.path, 'pacs:hangs');
  assert.match(stuck[0]!.error!, /did not finish within 2 s; its worker was stopped/);
  assert.equal(results.filter((r) => r.report?.verdict === 'authentic').length, 4, 'the replacement worker verified the rest');
  server.closeAllConnections();
});

test('pool: WADO-RS multipart answers are unwrapped to the object as stored', async (t) => {
  const { objs } = await fixture();
  const boundary = 'b0undary-xyz';
  const server = createServer((req, res) => {
    assert.equal(req.headers.accept, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    res.end(Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), objs.sealed[0]!, Buffer.from(`\r\n--${boundary}--\r\n`)]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const [r] = await collect(verifyFiles([{ path: 'wado:1', url: `http://127.0.0.1:${port}/x`, headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } }], { trust: objs.ids.trustPem, workers: 1 }));
  assert.equal(r!.report!.verdict, 'authentic');
  assert.equal(r!.fileSha256, sha(objs.sealed[0]!));
});

test('pool: a trust bundle that does not load stops the pool with the reason', async (t) => {
  const dir = tempDir(t, 'radseal-pool-trust-');
  writeFileSync(join(dir, 'bad.pem'), 'no certificates here');
  await assert.rejects(collect(verifyFiles([join(dir, 'bad.pem')], { trust: join(dir, 'bad.pem'), workers: 1 })), /trust bundle: /);
});

test('pool: one worker reading every object into the buffer it reuses gives each object its own verdict, as verifyObject does in this thread', async () => {
  const { dir, objs } = await fixture();
  const seq = join(dir, 'sequence');
  mkdirSync(seq, { recursive: true });
  const whole = objs.sealed[0]!;
  // A shorter file after a longer one: read into the same buffer, it must not see the longer one's tail.
  const cut = whole.subarray(0, Math.floor(whole.length / 2));
  const files = [whole, cut, objs.tampered, objs.sealed[1]!, objs.unsigned, whole].map((bytes, i) => {
    const path = join(seq, `f${i}`);
    writeFileSync(path, bytes);
    return { path, bytes };
  });
  const results = await collect(verifyFiles(files.map((f) => f.path), { trust: objs.ids.trustPem, workers: 1, describe: false }));
  const trust = parseCertificates(readFileSync(objs.ids.trustPem));
  const by = new Map(results.map((r) => [r.path, r]));
  for (const f of files) {
    const expected = verifyObject(f.path, f.bytes, trust);
    const got = by.get(f.path)!.report!;
    assert.equal(got.verdict, expected.verdict, f.path);
    assert.deepEqual(got.reasons, expected.reasons, f.path);
  }
  assert.deepEqual(files.map((f) => by.get(f.path)!.report!.verdict), ['authentic', 'invalid', 'tampered', 'authentic', 'unsigned', 'authentic']);
});

test('pool: started before its objects are known (a folder walk), it verifies them once they come; keep() stops the workers not needed', async () => {
  const { dir, objs } = await fixture();
  const pool = startVerifyPool({ trust: objs.ids.trustPem, workers: 3, describe: false });
  await new Promise((r) => setTimeout(r, 50)); // the walk: the workers load meanwhile
  pool.keep(1);
  const results = await collect(pool.verify([join(dir, 'sealed-0.dcm'), join(dir, 'sealed-1.dcm'), join(dir, 'nothing-here.dcm')]));
  assert.deepEqual(results.map((r) => r.report?.verdict ?? r.error!.replace(/: .*/, '')).sort(), ['authentic', 'authentic', 'cannot read ' + join(dir, 'nothing-here.dcm')]);
  await assert.rejects(collect(pool.verify([join(dir, 'sealed-0.dcm')])), /verifies one source/);
});

test('pool: a pool closed without verifying anything (the walk found nothing) leaves no thread behind: the process ends by itself', async (t) => {
  const { objs } = await fixture();
  const dir = tempDir(t, 'radseal-pool-close-');
  const script = join(dir, 'close.mts');
  const pool = pathToFileURL(join(import.meta.dirname, '../../../host/ingest/pool/verify-pool.ts')).href;
  writeFileSync(script, `const { startVerifyPool } = await import(${JSON.stringify(pool)});
const trust = process.argv[2];
const kept = startVerifyPool({ trust, workers: 2 });
kept.keep(1);
startVerifyPool({ trust, workers: 2 }).close();
kept.close();
console.log('closed');
`);
  // Run from the project, where tsx resolves; without close() this process runs until killed.
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, objs.ids.trustPem], { encoding: 'utf8', timeout: 30_000, cwd: join(import.meta.dirname, '../../..') });
  assert.equal(r.signal, null, `the process did not end by itself (${r.stderr})`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'closed');
});

test('pool: built, the workers run the bundle of their modules only when it is not older than the worker module tsc wrote', (t) => {
  const dir = tempDir(t, 'radseal-pool-bundle-');
  const caller = pathToFileURL(join(dir, 'verify-pool.js')).href;
  const mod = join(dir, 'verify-worker.js');
  const bundle = join(dir, 'verify-worker.bundle.js');
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
  writeFileSync(mod, '');
  assert.equal(workerModule(caller, 'verify-worker'), 'verify-worker', 'no bundle: the modules');
  writeFileSync(bundle, '');
  at(mod, 1_000_000);
  at(bundle, 1_000_010);
  assert.equal(workerModule(caller, 'verify-worker'), 'verify-worker.bundle', 'a bundle made after the modules');
  at(mod, 1_000_020);
  assert.equal(workerModule(caller, 'verify-worker'), 'verify-worker', 'tsc ran after the bundle was made: it would run old code');
  rmSync(mod);
  assert.equal(workerModule(caller, 'verify-worker'), 'verify-worker', 'no worker module: nothing to compare with, so no bundle');
  assert.equal(workerModule(pathToFileURL(join(dir, 'verify-pool.ts')).href, 'verify-worker'), 'verify-worker', 'under tsx: the TypeScript');
});
