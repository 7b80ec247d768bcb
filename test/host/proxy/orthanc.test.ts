// The whole hospital path with real peers: storescu as the modality -> `radseal proxy`
// (the CLI) -> Orthanc 1.10.1 with radseal's Python hook, which verifies every arrival
// before storage and refuses what is not authentic. Every object the modality sends,
// native and compressed, single- and multi-frame, is stored in Orthanc as authentic.
// Runs in the Orthanc environment's own network namespace (test/services/orthanc.ts; root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ORTHANC_DICOM, pythonPlugin, startOrthancEnv, type OrthancEnv } from '../../services/orthanc.js';
import { radseal, ROOT, tempDir } from '../support/run.js';
import { makeObjects, makeVariants, sopInstanceUidOf, waitFor } from './fixtures.js';

const PROXY_PORT = 11112;

async function findInstance(env: OrthancEnv, uid: string): Promise<string | null> {
  const r = await env.inNs('curl', ['-sf', '-X', 'POST', '-d', JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: uid } }), 'http://127.0.0.1:8042/tools/find']);
  return (JSON.parse(r.stdout || '[]') as string[])[0] ?? null;
}

test('storescu -> radseal proxy -> Orthanc with the verifying Python hook: every object stored, authentic', { skip: pythonPlugin() ? false : 'Orthanc Python plugin not installed (orthanc-python)' }, async (t) => {
  const dir = tempDir('radseal-proxy-orthanc-');
  const natives = makeObjects(join(dir, 'native'));
  mkdirSync(join(dir, 'variants'));
  const variants = makeVariants(join(dir, 'native'), join(dir, 'variants'));
  const files = [...natives, ...variants.encapsulated];
  assert.equal(radseal('keygen', '--id', 'PROXY-ORTHANC', '--out', join(dir, 'keys')).code, 0);
  const env = await startOrthancEnv(dir, { trustPem: join(dir, 'keys', 'device.crt'), onFailure: 'reject', hook: 'python' });
  t.after(() => env.stop());

  let log = '';
  const proxy = spawn('ip', ['netns', 'exec', env.ns, process.execPath, join(ROOT, 'bin', 'radseal.js'), 'proxy', '--listen', `127.0.0.1:${PROXY_PORT}`,
    '--ae', 'RADPROXY', '--key', join(dir, 'keys', 'device.key'), '--cert', join(dir, 'keys', 'device.crt'), '--outbox', join(dir, 'outbox'),
    '--forward', `ORTHANC@127.0.0.1:${ORTHANC_DICOM}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  proxy.stdout!.on('data', (d) => (log += d));
  proxy.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proxy.once('exit', () => r()));
  t.after(async () => {
    proxy.kill('SIGTERM');
    await exited;
  });
  await waitFor('the proxy to listen', () => log.includes('proxy: listening on'), 15000);

  const natively = await env.inNs('storescu', ['-aet', 'MODALITY1', '-aec', 'RADPROXY', '127.0.0.1', String(PROXY_PORT), ...natives]);
  assert.equal(natively.code, 0, natively.stderr);
  const compressed = await env.inNs('dcmsend', ['-dn', '-aet', 'MODALITY1', '-aec', 'RADPROXY', '127.0.0.1', String(PROXY_PORT), ...variants.encapsulated]);
  assert.equal(compressed.code, 0, compressed.stderr);
  const sent = join(dir, 'outbox', 'sent');
  await waitFor('every object forwarded', () => existsSync(sent) && (log.match(/-> ORTHANC@127\.0\.0\.1:\d+ stored/g) ?? []).length >= files.length, 60000);

  for (const f of files) {
    const id = await findInstance(env, sopInstanceUidOf(f));
    assert.ok(id, `${f} is in Orthanc\n${log}\n${env.logs().slice(-3000)}`);
    const verdict = await env.inNs('curl', ['-sf', `http://127.0.0.1:8042/instances/${id}/metadata/RadsealVerdict`]);
    assert.equal(verdict.stdout, 'authentic', `${f}: ${verdict.stdout}`);
  }
  const audit = readFileSync(env.auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { verdict: string });
  assert.equal(audit.length, files.length);
  assert.ok(audit.every((r) => r.verdict === 'authentic'), JSON.stringify(audit.map((r) => r.verdict)));
});
