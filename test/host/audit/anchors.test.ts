// Anchoring the audit chain: heads recorded as they are sent and time-stamped by a real RFC 3161
// TSA (openssl ts behind HTTP on loopback); a rewrite of the whole log and head file, which the
// chain alone cannot see, is caught by every kind of anchor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, verifyAuditLog, type AuditEntry } from '../../../host/ingest/audit.js';
import { anchorsDir, anchorsInSyslogFile, HeadAnchoring, verifyAnchors } from '../../../host/audit/anchor.js';
import { requestTimestamp } from '../../../host/net/tsa-client.js';
import { startTsa } from '../support/tsa.js';
import { tempDir } from './fixtures.js';

const entry = (i: number, verdict = 'authentic'): AuditEntry => ({
  source: { via: 'c-store', ae: 'MOD1', host: '10.0.0.1' }, sopInstanceUid: `2.25.${i}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  fileSha256: 'ab'.repeat(32), bytes: 1000 + i, verdict, reasons: [], signers: [], device: 'DX1', technologist: null, watermark: null,
  tamperedTiles: null, action: verdict === 'authentic' ? 'stored' : 'rejected', location: null, policy: 'reject',
});

/** An attacker with write access rebuilds the log from scratch, record 3 now says "authentic", with a fresh head file. */
function rewriteWholeLog(path: string, n: number): void {
  const forged = `${path}.forged`;
  const log = new AuditLog(forged);
  for (let i = 1; i <= n; i++) log.append(entry(i, 'authentic'));
  log.close();
  copyFileSync(forged, path);
  copyFileSync(`${forged}.head`, `${path}.head`);
}

test('heads are anchored every N records and on close, time-stamped by the TSA; a full rewrite of log and head file passes the chain check but not the anchors', async (t) => {
  const dir = tempDir(t, 'radseal-anchor-');
  const tsa = await startTsa(join(dir, 'tsa'));
  t.after(() => tsa.stop());
  const path = join(dir, 'audit.jsonl');
  const log = new AuditLog(path);
  const anchoring = new HeadAnchoring(log, { everyRecords: 4, everyMinutes: 0, timestamp: (s) => requestTimestamp(tsa.url, s) });
  for (let i = 1; i <= 10; i++) {
    log.append(entry(i, i === 3 ? 'tampered' : 'authentic'));
    await new Promise((r) => setTimeout(r, 30)); // the TSA answers between appends, as in service
  }
  await anchoring.close();
  log.close();

  const sent = readFileSync(join(anchorsDir(path), 'sent.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
  assert.deepEqual(sent.map((a) => a.seq), [4, 8, 10], 'every 4 records, and the final head on close');
  const tokens = readdirSync(anchorsDir(path)).filter((n) => n.endsWith('.tst'));
  assert.ok(tokens.length >= 2, `time-stamps: ${tokens.join(', ')}`);
  const trust = [new X509Certificate(tsa.caPem)];
  const good = verifyAnchors(path, { tsaTrust: trust });
  assert.equal(good.ok, true, JSON.stringify(good.firstBroken));
  assert.equal(good.anchors, 3 + tokens.length);

  rewriteWholeLog(path, 10);
  assert.equal(verifyAuditLog(path).ok, true, 'the forged chain is self-consistent: the chain alone cannot see it');
  const caught = verifyAnchors(path, { tsaTrust: trust });
  assert.equal(caught.ok, false);
  assert.match(caught.firstBroken!.problem, /does not hash to the anchor .*sent\.jsonl.*rewritten/);

  // The attacker also rewrites the record of what was sent: the time-stamps still hold the old heads.
  writeFileSync(join(anchorsDir(path), 'sent.jsonl'), '');
  const byTsa = verifyAnchors(path, { tsaTrust: trust });
  assert.equal(byTsa.ok, false);
  assert.match(byTsa.firstBroken!.problem, /tsa-\d+\.tst, time-stamped/);
  // ...and rewriting a token's statement to the forged head breaks the TSA's signature over it.
  const token = tokens[0]!;
  const seq = Number(/tsa-(\d+)/.exec(token)![1]);
  const forgedHead = verifyAuditLog(path).head; // any forged hash will do for the attacker's claim
  writeFileSync(join(anchorsDir(path), token.replace('.tst', '.json')), JSON.stringify({ seq, sha256: forgedHead.sha256 }));
  const statementForged = verifyAnchors(path, { tsaTrust: trust });
  assert.equal(statementForged.ok, false);
  assert.ok(statementForged.anchorProblems.some((p) => p.includes(token) && /another signature value|imprint/.test(p)), statementForged.anchorProblems.join('\n'));
});

test('no anchors at all is a failure when anchors are asked for; a damaged anchor file is named', async (t) => {
  const dir = tempDir(t, 'radseal-anchor-none-');
  const path = join(dir, 'audit.jsonl');
  const log = new AuditLog(path);
  log.append(entry(1));
  log.close();
  const r = verifyAnchors(path);
  assert.equal(r.ok, false);
  assert.match(r.firstBroken!.problem, /no anchors found/);
  const reopened = new AuditLog(path);
  await new HeadAnchoring(reopened, { everyMinutes: 0 }).close();
  reopened.close();
  assert.ok(existsSync(join(anchorsDir(path), 'sent.jsonl')), 'a start anchors the head as found');
  assert.equal(verifyAnchors(path).ok, true);
  writeFileSync(join(anchorsDir(path), 'sent.jsonl'), `${readFileSync(join(anchorsDir(path), 'sent.jsonl'), 'utf8')}not json\n`);
  const bad = verifyAnchors(path);
  assert.equal(bad.ok, false);
  assert.match(bad.firstBroken!.problem, /anchors damaged: .*sent\.jsonl: a line is not JSON/);
});

test("the repository's syslog file gives anchors for this log only", (t) => {
  const dir = tempDir(t, 'radseal-anchor-syslog-');
  const f = join(dir, 'received.log');
  const h = 'c'.repeat(64);
  writeFileSync(f, [
    `<85>1 2026-12-03T10:00:00Z gw radseal 1 RADSEAL-HEAD [radseal@32473 spool="3"][radseal-head@32473 log="/var/log/radseal/audit.jsonl" seq="7" sha256="${h}"] \uFEFFaudit log head`,
    `<85>1 2026-12-03T10:00:00Z gw radseal 1 RADSEAL-HEAD [radseal@32473 spool="4"][radseal-head@32473 log="/var/log/radseal/other.jsonl" seq="9" sha256="${h}"] \uFEFFaudit log head`,
    'unrelated line',
  ].join('\n'));
  assert.deepEqual(anchorsInSyslogFile(f, '/var/log/radseal/audit.jsonl').map((a) => a.seq), [7]);
  assert.deepEqual(anchorsInSyslogFile(f, null).map((a) => a.seq), [7, 9]);
});
