// One rule for AE titles (host/net/pdu.ts aeTitleProblem, PS3.5 VR AE: 1-16 printable ASCII
// characters, no backslash, not only spaces) wherever radseal is given one: a forward or worklist
// target, its own title as an SCP, an allow-list entry, --calling-ae; and one parser for --listen.
// A bad title is refused with its reason before anything listens or connects, never cut to 16 on the
// wire. A service that cannot listen (the port taken) exits at once with the reason (systemd must see
// the failure), rather than living on without a listener.
// Network: run inside a private namespace (see docs/CONTRIBUTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { aeField, aeTitleProblem } from '../../../host/net/pdu.js';
import { parseTarget } from '../../../host/net/association.js';
import { startStoreScp } from '../../../host/net/scp.js';
import { hostPort } from '../../../host/cli/args.js';
import { withCallingAe } from '../../../host/cli/station-options.js';
import { makeIdentities } from '../dicom/fixtures.js';
import { startRadseal, tempDir } from '../support/run.js';
import { join } from 'node:path';

const dir = tempDir('radseal-ae-title-');

test('aeTitleProblem: what PS3.5 allows passes, the rest is named', () => {
  for (const ok of ['RADSEAL', 'A', 'SIXTEEN_CHARS_AE', 'DX ROOM 1', ' PADDED ']) assert.equal(aeTitleProblem(ok), null, ok);
  const bad: Array<[string, RegExp]> = [['SEVENTEEN_CHARS_A', /17 characters.*16/], ['', /empty/], ['    ', /empty/], ['BACK\\SLASH', /backslash/],
    ['TAB\tAE', /printable ASCII/], ['NEWLINE\n', /printable ASCII/], ['ÜMLAUT', /printable ASCII/]];
  for (const [ae, why] of bad) assert.match(aeTitleProblem(ae) ?? 'passed', why, JSON.stringify(ae));
  // On the wire a title is refused, never cut to 16.
  assert.throws(() => aeField('SEVENTEEN_CHARS_A'), RangeError);
  assert.equal(Buffer.from(aeField('PACS')).toString('latin1'), 'PACS            ');
});

test('targets: a bad AE title or a port outside 1-65535 is refused with the reason', () => {
  assert.deepEqual(parseTarget('PACS@10.0.0.5:104'), { calledAe: 'PACS', host: '10.0.0.5', port: 104 });
  assert.throws(() => parseTarget('SEVENTEEN_CHARS_A@10.0.0.5:104'), /16/);
  assert.throws(() => parseTarget('BAD\\AE@10.0.0.5:104'), /backslash/);
  assert.throws(() => parseTarget('@10.0.0.5:104'), /empty/);
  assert.throws(() => parseTarget('PACS@10.0.0.5:99999'), /port 99999 is outside 1-65535/);
  assert.throws(() => parseTarget('PACS@10.0.0.5:0'), /port 0/);
  assert.throws(() => withCallingAe({ calledAe: 'PACS', host: 'h', port: 104 }, 'SEVENTEEN_CHARS_A'), /--calling-ae: .*16/);
  assert.deepEqual(hostPort('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(hostPort('[::1]:11112'), { host: '::1', port: 11112 });
  assert.throws(() => hostPort('127.0.0.1:99999'), /port 99999 is outside 0-65535/);
});

test('an SCP is not started with a title no association could carry (its own, or an allow-list entry)', async () => {
  const base = { host: '127.0.0.1', port: 0, onStore: async () => ({ status: 0 }) };
  await assert.rejects(startStoreScp({ ...base, aeTitle: 'SEVENTEEN_CHARS_A' }), /our AE title: .*16/);
  await assert.rejects(startStoreScp({ ...base, aeTitle: 'RADSEAL', allowedCallers: ['DXROOM1@10.0.0.7', 'BAD\\CALLER'] }), /allowed caller: .*backslash/);
  const scp = await startStoreScp({ ...base, aeTitle: 'RADSEAL', allowedCallers: ['DXROOM1@10.0.0.7', 'CR 2'] });
  await scp.close();
});

test('radseal proxy: a title too long is refused, and a port already taken ends the process at once with the reason', { timeout: 60000 }, async () => {
  const ids = await makeIdentities(join(dir, 'ids'), 'AE-TEST-1');
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const common = ['--key', ids.certs.deviceKey, '--cert', ids.certs.device, '--outbox', join(dir, 'outbox'), '--forward', 'PACS@127.0.0.1:1'];
    const long = await startRadseal(['proxy', '--listen', '127.0.0.1:0', '--ae', 'SEVENTEEN_CHARS_A', ...common]).done;
    assert.equal(long.code, 2, long.out);
    assert.match(long.stderr, /our AE title: AE title "SEVENTEEN_CHARS_A" is 17 characters long/);
    const t0 = performance.now();
    const busy = await startRadseal(['proxy', '--listen', `127.0.0.1:${port}`, '--ae', 'RADPROXY', ...common]).done;
    assert.equal(busy.code, 2, busy.out);
    assert.match(busy.stderr, /EADDRINUSE/);
    assert.ok(performance.now() - t0 < 20000, 'the proxy ended on its own');
  } finally {
    taken.close();
  }
});
