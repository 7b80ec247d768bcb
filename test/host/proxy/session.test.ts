// The built CLI: `radseal proxy --technologists DIR` beside a modality (storescu), a technologist
// logging in with `radseal tech login --outbox <the proxy's outbox>` (PIN on stdin): what arrives
// while they are logged in is co-signed by them, what arrives after logout by the device alone.
// Network: run inside a private namespace (see docs/CONTRIBUTING.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDx } from '../net/dicom-fixture.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { radseal, ROOT, startRadseal, tempDir } from '../support/run.js';
import { generateDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { filesIn, sopInstanceUidOf, storescu, waitFor } from './fixtures.js';

const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'));
const PIN = 'proxy-pin-2718';

test('proxy co-signs with the logged-in technologist, and with nobody logged in seals device-only', { skip: BUILT ? false : 'dist/ missing: run npx tsc -p tsconfig.json first', timeout: 120000 }, async () => {
  const dir = tempDir('radseal-proxy-session-');
  const keys = await generateDeviceKey('PROXY-S1', join(dir, 'keys'));
  const tech = await generateTechnologistKey('T700', join(dir, 'technologists'), PIN);
  const pacs = await startStoreScp(join(dir, 'pacs'), await freePort());
  after(() => pacs.stop());
  const port = await freePort();
  const outbox = join(dir, 'outbox');
  const proxy = startRadseal(['proxy', '--listen', `127.0.0.1:${port}`, '--ae', 'RADPROXY', '--key', keys.key, '--cert', keys.cert,
    '--outbox', outbox, '--forward', `PACS@127.0.0.1:${pacs.port}`, '--technologists', join(dir, 'technologists')]);
  await waitFor('the proxy to listen', () => proxy.output().includes('proxy: listening on'), 15000);
  await waitFor('the session socket', () => existsSync(join(outbox, 'session', 'control.sock')), 10000);

  const send = async (n: number) => {
    const dx = makeDx(n, 64, 64);
    const f = join(dir, `m${n}.dcm`);
    writeFileSync(f, dx.bytes);
    const r = await storescu(port, [f], [], 'MODALITY1');
    assert.equal(r.code, 0, r.out);
    // storescp writes in place: a file still being written is not yet readable.
    const arrived = () => filesIn(join(dir, 'pacs')).find((p) => { try { return sopInstanceUidOf(p) === dx.sopInstanceUid; } catch { return false; } });
    await waitFor(`object ${n} at PACS`, () => !!arrived(), 20000);
    return arrived()!;
  };
  const trust = join(dir, 'trust.pem');
  writeFileSync(trust, readFileSync(keys.cert, 'utf8') + readFileSync(tech.cert, 'utf8'));
  const verify = (file: string) => {
    const r = radseal('verify', file, '--trust', trust, '--json');
    return { code: r.code, report: JSON.parse(r.stdout) };
  };

  const login = await startRadseal(['tech', 'login', '--outbox', outbox, '--id', 'T700'], { input: `${PIN}\n` }).done;
  assert.equal(login.code, 0, login.stderr);
  const cosigned = verify(await send(1));
  assert.equal(cosigned.report.verdict, 'authentic', cosigned.report.reasons.join('; '));
  assert.equal(cosigned.report.technologist?.signer, 'T700');
  assert.equal(cosigned.report.technologist?.accepted, true);

  assert.equal((await startRadseal(['tech', 'logout', '--outbox', outbox]).done).code, 0);
  const deviceOnly = verify(await send(2));
  assert.equal(deviceOnly.report.verdict, 'authentic', deviceOnly.report.reasons.join('; '));
  assert.equal(deviceOnly.report.signatures.some((s: { role: string }) => s.role === 'technologist'), false);
  assert.doesNotMatch(proxy.output(), new RegExp(PIN), 'the PIN never reaches the log');
  proxy.proc.kill('SIGTERM');
});
