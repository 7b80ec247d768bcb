// The results store's rules, on SQLite (the same statements run on PostgreSQL in
// distributed.test.ts): an unfinished audit resumes only with the settings it started with;
// records are idempotent per item and per (SOP Instance UID, file SHA-256); two audits compare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/run.js';
import { openResultsStore, ResultsStoreError, type AuditSettings, type ResultRow } from '../../../host/archive/store.js';
import { csvField } from '../../../host/archive/report.js';
import { DEFAULT_POLICY } from '../../../host/ingest/policy.js';

const settings = (over: Partial<AuditSettings> = {}): AuditSettings => ({
  source: '/archive', trustPem: new TextEncoder().encode('bundle A'), policy: DEFAULT_POLICY, revocation: { mode: 'signing-time', requireCrl: true }, watermarkKeyId: null, ...over,
});

const row = (key: string, sop: string, sha: string, verdict: ResultRow['verdict'], error: string | null = null): ResultRow => ({
  itemKey: key, path: `/archive/${key}`, sopInstanceUid: error ? null : sop, fileSha256: error ? null : sha, size: error ? null : 100, verdict: error ? null : verdict,
  error, reasons: verdict === 'authentic' ? [] : ['why'], device: 'DX-1', modality: 'DX', studyDate: '20240102', seriesInstanceUid: '1.2', report: '{}',
});

test('store: resume only with the same settings; --new-audit abandons', async () => {
  const store = await openResultsStore(join(tempDir('radseal-store-'), 'r.sqlite'));
  try {
    const a = await store.openAudit(settings(), {});
    assert.equal(a.resumed, false);
    const again = await store.openAudit(settings(), {});
    assert.deepEqual([again.resumed, again.audit.id], [true, a.audit.id]);
    await assert.rejects(store.openAudit(settings({ trustPem: new TextEncoder().encode('bundle B') }), {}), (e: Error) => e instanceof ResultsStoreError && /audit #1 .* not finished and was started with a different trust bundle/.test(e.message));
    await assert.rejects(store.openAudit(settings({ watermarkKeyId: 'ab'.repeat(32) }), {}), /no watermark key/);
    await assert.rejects(store.openAudit(settings({ policy: { ...DEFAULT_POLICY, requireTechnologistSignature: true } }), {}), /a different verify policy/);
    const fresh = await store.openAudit(settings({ trustPem: new TextEncoder().encode('bundle B') }), { fresh: true });
    assert.deepEqual([fresh.resumed, fresh.audit.id], [false, 2]);
    assert.deepEqual((await store.audits()).map((x) => [x.id, x.status]), [[2, 'running'], [1, 'abandoned']]);
    assert.equal(new TextDecoder().decode((await store.getAudit(2))!.trustPem), 'bundle B', 'the audit keeps its trust bundle');
  } finally {
    await store.close();
  }
});

test('store: idempotent records, counts, and what changed between two audits', async () => {
  const store = await openResultsStore(join(tempDir('radseal-store-'), 'r.sqlite'));
  try {
    const { audit: one } = await store.openAudit(settings(), {});
    const first = [row('a', '1.1', 'aa', 'authentic'), row('b', '1.2', 'bb', 'authentic'), row('c', '1.3', 'cc', 'unsigned'), row('d', '', '', null, 'cannot read /archive/d: EACCES')];
    const added = await store.record(one.id, first);
    assert.deepEqual(added, { items: 4, errors: 1, verdicts: { authentic: 2, unsigned: 1 }, bytes: 300 });
    // The same batch again (a worker died after writing), and a second copy of object a under another name.
    const again = await store.record(one.id, [...first, row('a-copy', '1.1', 'aa', 'authentic')]);
    assert.deepEqual(again, { items: 1, errors: 0, verdicts: {}, bytes: 0 }, 'only the new item; the copy is the same object');
    assert.deepEqual(await store.counts(one.id), { items: 5, errors: 1, verdicts: { authentic: 2, unsigned: 1 }, bytes: 300 });
    assert.deepEqual([...await store.recorded(one.id, ['a', 'x', 'd'])].sort(), ['a'], 'd was not verified: it is tried again');
    // d again, still unreadable, then readable: one item all along, the error replaced.
    assert.deepEqual(await store.record(one.id, [row('d', '', '', null, 'cannot read /archive/d: EIO')]), { items: 0, errors: 0, verdicts: {}, bytes: 0 });
    assert.deepEqual(await store.record(one.id, [row('d', '1.4', 'dd', 'invalid')]), { items: 0, errors: -1, verdicts: { invalid: 1 }, bytes: 100 });
    assert.deepEqual(await store.counts(one.id), { items: 5, errors: 0, verdicts: { authentic: 2, unsigned: 1, invalid: 1 }, bytes: 400 });
    assert.deepEqual([...await store.recorded(one.id, ['d'])], ['d']);
    const rows: ResultRow[] = [];
    for await (const r of store.rows(one.id)) rows.push(r);
    assert.deepEqual(rows.map((r) => r.verdict ?? r.error), ['authentic', 'authentic', 'unsigned', 'invalid']);
    await store.finishAudit(one.id);

    // Next audit: b's file changed and is tampered, c and d are gone, e is new, a unchanged.
    const { audit: two, resumed } = await store.openAudit(settings(), {});
    assert.equal(resumed, false, 'a finished audit is not resumed');
    await store.record(two.id, [row('a', '1.1', 'aa', 'authentic'), row('b', '1.2', 'b2', 'tampered'), row('e', '1.5', 'ee', 'authentic')]);
    const ch = await store.changes(one.id, two.id);
    assert.deepEqual(ch.changed.map((c) => [c.sopInstanceUid, c.before, c.after, c.beforeSha256, c.afterSha256]), [['1.2', 'authentic', 'tampered', 'bb', 'b2']]);
    assert.deepEqual([ch.added, ch.gone, ch.goneCount], [1, ['1.3', '1.4'], 2]);
  } finally {
    await store.close();
  }
});

test('report CSV: quoted where needed, never a spreadsheet formula', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "x"'), '"say ""x"""');
  assert.equal(csvField('=HYPERLINK("http://evil")'), `"'=HYPERLINK(""http://evil"")"`);
  assert.equal(csvField('+1'), "'+1");
  assert.equal(csvField(null), '');
});
