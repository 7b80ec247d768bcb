// The embedded archive audit as an administrator runs it: killed mid-run (crash), interrupted
// with Ctrl-C, resumed twice: every item recorded exactly once, nothing verified again that was
// recorded, verdicts those of a plain verify. Then the archive changes (an object tampered with,
// one removed, one added), a second audit and the report say what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { radseal, startRadseal, tempDir } from '../support/run.js';
import { sealTo, testFrame } from '../dicom/fixtures.js';
import { tamperPixels } from '../../services/ingest-fixtures.js';
import { launchChromium, rgb } from '../web/browser.js';
import { countSqlite, countSqliteItems, makeArchiveTree, readSqlite, referenceVerdicts, until, type ArchiveTree } from './fixtures.js';

const lines = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

test('archive-audit (embedded): crash, Ctrl-C, resume; every item once, verdicts as verify; then what changed', async () => {
  const dir = tempDir('radseal-archive-embedded-');
  const tree: ArchiveTree = await makeArchiveTree(dir, 200, 8);
  const reference = await referenceVerdicts(tree);
  assert.equal(reference.get('other/tampered-copy'), 'tampered');
  assert.equal(reference.get('other/unsigned'), 'unsigned');
  const db = join(dir, 'results.sqlite');
  const args = ['archive-audit', tree.root, '--trust', tree.ids.trustPem, '--results', db, '--workers', '1', '--json'];

  // 1. Killed (SIGKILL) once some results are in: nothing is lost of what was recorded.
  const first = startRadseal(args);
  await until('first results', () => countSqliteItems(db) >= 20 || first.proc.exitCode !== null);
  first.proc.kill('SIGKILL');
  await first.done;
  const { items: afterKill, errors: errorsAfterKill } = countSqlite(db);
  assert.ok(afterKill >= 20 && afterKill < tree.items, `killed mid-run: ${afterKill} of ${tree.items} recorded`);
  assert.equal(errorsAfterKill, 1, 'the dangling link (walked first, in other/) is recorded as not verified');

  // 2. Resumed, then interrupted with Ctrl-C: it stops after the objects under way, says so, exit 130.
  const second = startRadseal(args);
  await until('more results', () => countSqliteItems(db) > afterKill || second.proc.exitCode !== null);
  second.proc.kill('SIGINT');
  const r2 = await second.done;
  assert.equal(r2.code, 130, r2.out);
  const events2 = lines(r2.stdout);
  assert.equal(events2[0]!.event, 'resumed');
  const summary2 = events2.find((e) => e.event === 'summary')!;
  assert.equal(summary2.state, 'interrupted');
  assert.equal(summary2.alreadyRecorded, afterKill - errorsAfterKill, 'the resumed run skipped exactly what was verified (what was not is tried again)');
  const { items: afterInterrupt, errors: errorsAfterInterrupt } = countSqlite(db);
  assert.ok(afterInterrupt < tree.items, `interrupted before the end: ${afterInterrupt}`);
  assert.equal(afterInterrupt, afterKill + (summary2.processed as number) - errorsAfterKill, 'every object it took was recorded before it stopped; the retried item replaced its row');

  // 3. Resumed to the end.
  const r3 = radseal(...args);
  assert.equal(r3.code, 0, r3.stderr + r3.stdout);
  const summary3 = lines(r3.stdout).find((e) => e.event === 'summary')!;
  assert.equal(summary3.state, 'finished');
  assert.equal(summary3.alreadyRecorded, afterInterrupt - errorsAfterInterrupt);
  assert.equal((summary3.processed as number) + (summary3.alreadyRecorded as number), tree.items, 'nothing verified twice, nothing skipped');
  const progress = lines(r3.stdout).filter((e) => e.event === 'progress' || e.event === 'finished');
  assert.ok(progress.length >= 1 && typeof progress.at(-1)!.objectsPerSecond === 'number');

  const rows = readSqlite(db, 1);
  assert.deepEqual(rows.audits, [{ id: 1, status: 'finished' }]);
  assert.equal(rows.items.length, tree.items);
  assert.deepEqual(rows.items.map((i) => i.item_key).sort(), [...tree.dicom, ...tree.unreadable].sort());
  const dangling = rows.items.find((i) => i.item_key === 'other/dangling')!;
  assert.match(dangling.error!, /cannot read .*dangling: ENOENT/);
  assert.equal(new Set(rows.results.map((r) => `${r.sop_instance_uid}/${r.file_sha256}`)).size, rows.results.length, 'one row per (SOP Instance UID, SHA-256)');
  assert.equal(rows.results.length, tree.dicom.length);
  for (const r of rows.results) assert.equal(r.verdict, reference.get(r.path.slice(tree.root.length + 1)), r.path);

  // 4. The archive changes; the next audit is a new one, and the report says what changed.
  const victim = join(tree.root, 'series-2', 'IM00010');
  const victimSop = rows.items.find((i) => i.item_key === 'series-2/IM00010')!.sop_instance_uid!;
  const tampered = tamperPixels(readFileSync(victim), 40, 40, 6, 6);
  writeFileSync(victim, tampered);
  rmSync(join(tree.root, 'series-3', 'IM00011'));
  await sealTo(join(tree.root, 'series-0', 'IM99999'), testFrame(128, 128, 12, 777), tree.ids.device, { frameSerial: 99999 });
  const r4 = radseal(...args);
  assert.equal(r4.code, 0, r4.stderr);
  assert.equal(lines(r4.stdout)[0]!.event, 'started', 'a finished audit is not resumed: a new one starts');

  const out = join(dir, 'report');
  const rep = radseal('archive-report', '--results', db, '--out', out);
  assert.equal(rep.code, 0, rep.stderr);
  const objects = tree.dicom.length; // one tampered, one removed, one added
  assert.match(rep.stdout, new RegExp(`audit #2 \\(finished\\): ${objects} objects .*since audit #1: 1 no longer authentic, 1 changed, 1 new, 1 gone`));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.totals.tampered, 2);
  assert.equal(summary.totals.notVerified, 1);
  assert.equal(summary.byDevice['DX-ROOM-3'].authentic, objects - 3);
  assert.equal(summary.byModality.DX.tampered, 2);
  const perYear = Object.values(summary.byYear as Record<string, Record<string, number>>).map((c) => Object.values(c).reduce((a, b) => a + b, 0));
  assert.equal(perYear.reduce((a, b) => a + b, 0), objects, `every object in some year: ${JSON.stringify(summary.byYear)}`);
  assert.deepEqual(summary.since, { audit: summary.since.audit, lostAuthenticity: 1, changed: 1, added: 1, gone: 1 });
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.match(html, /1 object\(s\) authentic in audit #1 are not authentic now/);
  assert.ok(html.includes(victimSop), 'the object that lost its authenticity is named');
  const sha = createHash('sha256').update(tampered).digest('hex');
  assert.ok(html.includes(`href="reports/${sha}.json"`));
  assert.equal(JSON.parse(readFileSync(join(out, 'reports', `${sha}.json`), 'utf8')).verdict, 'tampered');
  const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\r\n');
  assert.equal(csv.length, 1 + objects + 1, 'header, every object, the unreadable item');
  assert.ok(existsSync(join(out, 'results.jsonl')));

  // The page as a reader sees it, in Debian's Chromium: the headline first and red, the list, the links.
  const browser = await launchChromium(dir);
  try {
    const page = await browser.newPage();
    await page.goto(`file://${join(out, 'index.html')}`);
    const headline = page.locator('.headline').first();
    assert.match(await headline.innerText(), /1 object\(s\) authentic in audit #1 are not authentic now/);
    assert.equal(await headline.evaluate((e) => getComputedStyle(e).borderTopColor), rgb('#b00020'));
    assert.equal(await page.locator('h2:has-text("Objects that are not authentic") + table tr').count(), 1 + 3, 'header and the three objects');
    assert.deepEqual(await page.locator('h2:has-text("Objects that are not authentic") + table tr td:first-child').allInnerTexts(), ['tampered', 'tampered', 'unsigned'], 'most serious first');
    await page.locator(`a[href="reports/${sha}.json"]`).click();
    assert.match(await page.locator('body').innerText(), /"verdict":\s*"tampered"/);
  } finally {
    await browser.close();
  }
});
