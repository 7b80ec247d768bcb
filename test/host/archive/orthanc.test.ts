// The archive audit against real Orthanc 1.10.1 (Debian) in a private network namespace (Orthanc
// binds every interface): enumerated over its REST API with each stored file fetched byte for
// byte, and over DICOMweb (QIDO-RS, WADO-RS as stored). Both audits give the verdicts and file
// hashes a verify of the files uploaded gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { ROOT, tempDir, type Run } from '../support/run.js';
import { dicomWebPlugin } from '../../services/orthanc.js';
import { makeArchiveTree, readSqlite, referenceVerdicts, until } from './fixtures.js';

const exec = (cmd: string, args: string[]): Promise<Run> => new Promise((res) => {
  execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});

test('archive-audit over Orthanc REST and DICOMweb: every stored instance, verdicts and hashes as the files', async () => {
  const dir = tempDir('radseal-archive-orthanc-');
  const tree = await makeArchiveTree(dir, 8, 2);
  const reference = await referenceVerdicts(tree);
  // Orthanc keeps the first file of a SOP Instance UID: the tampered copy stands in for IM00000.
  const uploaded = tree.dicom.filter((p) => p !== 'series-0/IM00000' && p !== 'other/unsigned');

  const ns = `radseal-arch-${randomBytes(3).toString('hex')}`;
  const add = await exec('ip', ['netns', 'add', ns]);
  assert.equal(add.code, 0, `ip netns add (needs root): ${add.stderr}`);
  after(() => exec('ip', ['netns', 'del', ns]));
  await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const inNs = (cmd: string, args: string[]) => exec('ip', ['netns', 'exec', ns, cmd, ...args]);

  const dw = dicomWebPlugin();
  assert.ok(dw, 'Orthanc DICOMweb plugin (Debian orthanc-dicomweb) is installed');
  mkdirSync(join(dir, 'orthanc'));
  const cfg = join(dir, 'orthanc', 'orthanc.json');
  writeFileSync(cfg, JSON.stringify({
    Name: 'archive', StorageDirectory: join(dir, 'orthanc', 'storage'), IndexDirectory: join(dir, 'orthanc', 'index'),
    HttpPort: 8042, DicomPort: 4242, RemoteAccessAllowed: false, AuthenticationEnabled: false, SaveJobs: false,
    Plugins: [dw], DicomWeb: { Enable: true, Root: '/dicom-web/' },
  }));
  const orthanc = spawn('ip', ['netns', 'exec', ns, 'Orthanc', cfg], { stdio: 'ignore' });
  after(async () => {
    if (orthanc.exitCode !== null) return;
    const gone = new Promise((r) => orthanc.once('exit', r));
    orthanc.kill('SIGTERM');
    await gone;
  });
  await until('Orthanc', async () => (await inNs('curl', ['-sf', 'http://127.0.0.1:8042/system'])).code === 0, 30_000, 200);
  for (const p of uploaded) {
    const r = await inNs('curl', ['-sf', '-X', 'POST', '--data-binary', `@${join(tree.root, p)}`, 'http://127.0.0.1:8042/instances']);
    assert.equal(r.code, 0, `upload ${p}: ${r.stderr}`);
  }

  const db = join(dir, 'results.sqlite');
  const audit = (source: string) => inNs(process.execPath, [join(ROOT, 'bin', 'radseal.js'), 'archive-audit', source, '--trust', tree.ids.trustPem, '--results', db, '--workers', '1']);
  const rest = await audit('http://127.0.0.1:8042');
  assert.equal(rest.code, 0, rest.stderr);
  assert.match(rest.stderr, new RegExp(`audit #1 finished \\(${uploaded.length} verified now, 0 recorded before\\)`));
  const web = await audit('dicomweb+http://127.0.0.1:8042/dicom-web');
  assert.equal(web.code, 0, web.stderr);

  // Orthanc rewrites the meta header (group 0002, not signed): the verdicts hold, and the REST
  // file and the WADO-RS instance are the same stored bytes.
  const expected = uploaded.map((p) => reference.get(p)).sort();
  for (const id of [1, 2]) {
    const rows = readSqlite(db, id);
    assert.equal(rows.items.length, uploaded.length, `audit #${id}: every stored instance`);
    assert.deepEqual(rows.results.map((r) => r.verdict).sort(), expected, `audit #${id}`);
    assert.ok(rows.items.every((i) => i.error === null));
  }
  const restRows = readSqlite(db, 1).results;
  const webRows = readSqlite(db, 2).results;
  assert.deepEqual(webRows.map((r) => `${r.sop_instance_uid} ${r.file_sha256}`).sort(), restRows.map((r) => `${r.sop_instance_uid} ${r.file_sha256}`).sort());
  assert.equal(restRows.filter((r) => r.verdict === 'tampered').length, 1);
  assert.ok(webRows.every((r) => r.path.startsWith('http://127.0.0.1:8042/dicom-web/studies/')));
});
