// The built CLI: `radseal proxy --audit-syslog` beside a modality (storescu) and PACS (storescp):
// the repository (rsyslog over mutual TLS) gets Application Start, the object's arrival from the
// modality (Instances Transferred, C), Begin Transferring and Instances Transferred (R) for the
// forward to PACS, Security Alerts for a refused association and a technologist login with a
// wrong PIN, and Application Stop. Run inside a private network namespace.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDx } from '../net/dicom-fixture.js';
import { freePort, startStoreScp } from '../net/storescp.js';
import { ROOT, startRadseal } from '../support/run.js';
import { generateDeviceKey, generateTechnologistKey } from '../../../host/keys/provision.js';
import { filesIn, storescu } from '../proxy/fixtures.js';
import { makePki, tempDir } from './fixtures.js';
import { rsyslog, waitFor } from './rsyslog.js';

const BUILT = existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'));
const eventIds = (lines: string[]) => lines.map((l) => /<EventID csd-code="(\d+)"/.exec(l)?.[1]).filter(Boolean);

test('radseal proxy --audit-syslog: arrival, forward, a refused PIN and start/stop reach the repository', { skip: BUILT ? false : 'dist/ missing: run npx tsc -p tsconfig.json first', timeout: 120000 }, async (t) => {
  const dir = tempDir(t, 'radseal-proxy-atna-');
  makePki(dir, 'site-ca', [{ name: 'arr', san: 'IP:127.0.0.1' }, { name: 'proxy' }]);
  const arr = rsyslog(dir, { ca: 'site-ca.pem', cert: 'arr.pem', key: 'arr.key', tcpPort: 6540, udpPort: 5540 });
  await arr.start();
  after(() => arr.stop());
  const keys = await generateDeviceKey('PROXY-A1', join(dir, 'keys'));
  await generateTechnologistKey('T701', join(dir, 'technologists'), 'right-pin-1');
  const pacs = await startStoreScp(join(dir, 'pacs'), await freePort());
  after(() => pacs.stop());
  const port = await freePort();
  const outbox = join(dir, 'outbox');
  const proxy = startRadseal(['proxy', '--listen', `127.0.0.1:${port}`, '--ae', 'RADPROXY', '--key', keys.key, '--cert', keys.cert, '--outbox', outbox,
    '--forward', `PACS@127.0.0.1:${pacs.port}`, '--technologists', join(dir, 'technologists'), '--allow-ae', 'MODALITY1',
    '--audit-syslog', 'tls://127.0.0.1:6540', '--audit-tls-key', join(dir, 'proxy.key'), '--audit-tls-cert', join(dir, 'proxy.pem'), '--audit-tls-ca', join(dir, 'site-ca.pem')]);
  await waitFor('the proxy to listen', () => proxy.output().includes('proxy: listening on'), 60000);
  await waitFor('the session socket', () => existsSync(join(outbox, 'session', 'control.sock')), 10000);

  const dx = makeDx(1, 64, 64);
  const f = join(dir, 'm1.dcm');
  writeFileSync(f, dx.bytes);
  assert.equal((await storescu(port, [f], [], 'MODALITY1')).code, 0);
  await waitFor('the object at PACS', () => filesIn(join(dir, 'pacs')).length === 1, 20000);
  assert.notEqual((await storescu(port, [f], [], 'INTRUDER')).code, 0, 'a caller not in --allow-ae is refused');
  const refused = await startRadseal(['tech', 'login', '--outbox', outbox, '--id', 'T701'], { input: 'wrong-pin\n' }).done;
  assert.notEqual(refused.code, 0);
  proxy.proc.kill('SIGTERM');
  await proxy.done;
  await waitFor('Application Stop', () => eventIds(arr.lines()).filter((e) => e === '110100').length === 2, 15000);

  const lines = arr.lines();
  const events = eventIds(lines);
  // Start first and stop last; the forward may begin before the arrival's message is written (the
  // forwarder is woken while the modality's answer is on its way).
  const middle = events.filter((e) => e !== '110113');
  assert.equal(middle[0], '110100');
  assert.equal(middle[middle.length - 1], '110100');
  assert.deepEqual(middle.slice(1, -1).sort(), ['110102', '110104', '110104'], events.join(' '));
  const arrival = lines.find((l) => l.includes('csd-code="110104"') && l.includes('EventActionCode="C"'))!;
  assert.match(arrival, /UserID="MODALITY1"[^>]*UserIsRequestor="true"/);
  assert.match(arrival, new RegExp(`<Instance UID="${dx.sopInstanceUid.replace(/\./g, '\\.')}"/>`));
  const forward = lines.find((l) => l.includes('csd-code="110104"') && l.includes('EventActionCode="R"'))!;
  assert.match(forward, /UserID="PACS"/);
  const pin = lines.find((l) => l.includes('csd-code="RS005"'));
  assert.ok(pin, 'the refused login is a Security Alert');
  assert.match(pin!, /UserID="T701"/);
  assert.doesNotMatch(lines.join('\n'), /wrong-pin/, 'the PIN is never sent');
  assert.match(lines.find((l) => l.includes('csd-code="RS004"')) ?? '', /UserID="INTRUDER"/, 'the refused association is a Security Alert');
});
