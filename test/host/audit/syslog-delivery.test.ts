// ATNA messages delivered to a real rsyslog (imtcp over TLS with the gtls driver, mutual TLS
// with certificates made here; imudp), started on loopback. Count sent = count received,
// including across a repository restart (the spool holds what could not be sent), in order;
// every received message validates against the A.5 schema. Run inside a private network
// namespace: unshare -n bash -c 'ip link set lo up && exec node --import tsx --test FILE'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSyslogAuditSink } from '../../../host/audit/sink.js';
import { loadTls } from '../../../host/net/tls.js';
import { EVERY_EVENT, jing, makePki, schemaRng, tempDir } from './fixtures.js';
import { rsyslog, spoolSeqs, waitFor } from './rsyslog.js';

const source = { id: 'radseal-test', type: '4' as const };
const event = (i: number) => EVERY_EVENT[i % EVERY_EVENT.length]![1];
const distinct = (xs: number[]) => [...new Set(xs)];
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function pki(dir: string) {
  makePki(dir, 'site-ca', [{ name: 'arr', san: 'IP:127.0.0.1' }, { name: 'gateway' }]);
  return loadTls({ key: join(dir, 'gateway.key'), cert: join(dir, 'gateway.pem'), ca: join(dir, 'site-ca.pem') });
}

test('TLS (RFC 5425, mutual TLS): every message arrives once, in order, valid against the A.5 schema; a repository restart loses nothing', async (t) => {
  const dir = tempDir(t, 'radseal-syslog-tls-');
  const tls = pki(dir);
  const arr = rsyslog(dir, { ca: 'site-ca.pem', cert: 'arr.pem', key: 'arr.key' });
  await arr.start();
  t.after(() => arr.stop());
  const sink = createSyslogAuditSink(`tls://127.0.0.1:${arr.tcpPort}`, { tls, spoolDir: join(dir, 'spool'), source });
  t.after(() => sink.close(0));

  for (let i = 0; i < 150; i++) sink.emit(event(i));
  await waitFor('the first 150 to be delivered', () => sink.stats.pending === 0);
  await arr.stop();
  for (let i = 150; i < 300; i++) sink.emit(event(i));
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(sink.stats.pending > 0, 'with the repository down, messages wait in the spool');
  await arr.start();
  await waitFor('the spool to drain after the restart', () => sink.stats.pending === 0, 60000);
  await sink.close();
  await arr.stop();

  const seqs = spoolSeqs(arr.lines());
  assert.deepEqual(distinct(seqs), range(1, 300), 'every message received, first arrivals in the order sent');
  assert.ok(seqs.length - 300 <= sink.stats.resent, `repeats (${seqs.length - 300}) only for messages resent after the connection broke (${sink.stats.resent})`);
  // Every message as received is a syslog message carrying a valid AuditMessage.
  const rng = schemaRng(dir);
  const firsts = new Map<number, string>();
  for (const l of arr.lines()) {
    const seq = spoolSeqs([l])[0]!;
    if (!firsts.has(seq)) firsts.set(seq, l);
  }
  const files = [...firsts.entries()].map(([seq, l]) => {
    assert.match(l, /^<85>1 \S+ \S+ radseal \d+ IHE\+RFC-3881 \[radseal@32473 spool="\d+"\] \uFEFF<\?xml/, l.slice(0, 120));
    const f = join(dir, `rx-${seq}.xml`);
    writeFileSync(f, l.slice(l.indexOf('<?xml')));
    return f;
  });
  assert.equal(jing(rng, files), '');
});

test('TLS: a repository whose certificate is from another CA gets nothing; the messages stay spooled and go to the right one later', async (t) => {
  const dir = tempDir(t, 'radseal-syslog-rogue-');
  const tls = pki(dir);
  makePki(dir, 'rogue-ca', [{ name: 'rogue', san: 'IP:127.0.0.1' }]);
  const rogue = rsyslog(join(dir), { ca: 'rogue-ca.pem', cert: 'rogue.pem', key: 'rogue.key', tcpPort: 6515, udpPort: 5515 });
  await rogue.start();
  const logs: string[] = [];
  const spoolDir = join(dir, 'spool');
  const sink = createSyslogAuditSink(`tls://127.0.0.1:6515`, { tls, spoolDir, source, log: (m) => logs.push(m) });
  for (let i = 0; i < 20; i++) sink.emit(event(i));
  await waitFor('a refused handshake', () => sink.stats.lastError !== null);
  await sink.close(0);
  await rogue.stop();
  assert.equal(spoolSeqs(rogue.lines()).length, 0, 'nothing reached the impostor');
  assert.ok(logs.some((l) => /unavailable/.test(l)), logs.join('\n'));
  // The same spool, now pointed at the real repository: all 20 arrive.
  const arr = rsyslog(dir, { ca: 'site-ca.pem', cert: 'arr.pem', key: 'arr.key', tcpPort: 6516, udpPort: 5516 });
  await arr.start();
  t.after(() => arr.stop());
  const again = createSyslogAuditSink(`tls://127.0.0.1:6516`, { tls, spoolDir, source });
  await waitFor('the spooled 20', () => again.stats.pending === 0);
  await again.close();
  await arr.stop();
  assert.deepEqual(distinct(spoolSeqs(arr.lines())), range(1, 20));
});

test('UDP (RFC 5426): one message per datagram, all received on loopback', async (t) => {
  const dir = tempDir(t, 'radseal-syslog-udp-');
  pki(dir);
  const arr = rsyslog(dir, { ca: 'site-ca.pem', cert: 'arr.pem', key: 'arr.key', tcpPort: 6517, udpPort: 5517 });
  await arr.start();
  t.after(() => arr.stop());
  const sink = createSyslogAuditSink('udp://127.0.0.1:5517', { spoolDir: join(dir, 'spool'), source });
  for (let i = 0; i < 60; i++) sink.emit(event(i));
  await waitFor('60 datagrams sent', () => sink.stats.pending === 0);
  await sink.close();
  await waitFor('60 datagrams received', () => spoolSeqs(arr.lines()).length >= 60);
  assert.deepEqual(spoolSeqs(arr.lines()), range(1, 60));
});
