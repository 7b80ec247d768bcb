// Orthanc Explorer with radseal's panel, in real Orthanc 1.10.1 (Python plugin) in a private
// network namespace, driven in Debian's Chromium: the instance, series and study pages show the
// verdict badge (text and colour), device, technologist, capture time, the study line and a
// working link to the HTML report served by Orthanc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { tempDir } from '../dicom/fixtures.js';
import { startOrthancEnv, pythonPlugin, ORTHANC_DICOM, ORTHANC_HTTP } from '../../services/orthanc.js';
import { VERDICT_STYLE } from '../../../host/ingest/report.js';
import { launchChromium, rgb, screenshot, watchErrors } from './browser.js';
import { makeStudy } from './study.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

test('Orthanc Explorer: verdict badges, capture details, study line and report link', { skip: pythonPlugin() ? false : 'orthanc-python not installed' }, async (t) => {
  const dir = tempDir(t, 'radseal-explorer-');
  const study = await makeStudy(dir);
  const env = await startOrthancEnv(dir, {
    trustPem: study.ids.trustPem, onFailure: 'flag', hook: 'python',
    radseal: { Command: [process.execPath, join(ROOT, 'bin', 'radseal.js')], VerifyArgs: ['--trust', study.ids.trustPem] },
  });
  t.after(() => env.stop());
  for (const f of study.files) {
    const r = await env.inNs('storescu', ['-aet', 'MODALITY', '-aec', 'ORTHANC', '127.0.0.1', String(ORTHANC_DICOM), f]);
    assert.equal(r.code, 0, r.stderr + env.logs());
  }
  const find = async (level: string, query: Record<string, string>) => {
    const r = await env.inNs('curl', ['-sf', '-X', 'POST', '-d', JSON.stringify({ Level: level, Query: query }), `http://127.0.0.1:${ORTHANC_HTTP}/tools/find`]);
    return (JSON.parse(r.stdout) as string[])[0]!;
  };
  const { parsePart10 } = await import('../../../host/net/cstore.js');
  const authenticId = await find('Instance', { SOPInstanceUID: parsePart10(study.bytes[0]!).sopInstanceUid });
  const tamperedId = await find('Instance', { SOPInstanceUID: parsePart10(study.bytes[3]!).sopInstanceUid });
  const studyId = await find('Study', { StudyInstanceUID: study.studyUid });
  const seriesId = await find('Series', { SeriesInstanceUID: study.seriesUid });
  assert.ok(authenticId && tamperedId && studyId && seriesId, 'all four instances are in Orthanc (flag policy keeps the tampered one)');

  const browser = await launchChromium(dir, env.ns);
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const base = `http://127.0.0.1:${ORTHANC_HTTP}/app/explorer.html`;

  const openPanel = async (hash: string, id: string) => {
    await page.goto('about:blank'); // a fresh load: jQuery Mobile does not re-show a page for a hash change alone
    await page.goto(`${base}#${hash}?uuid=${id}`);
    const panel = page.locator(`#radseal-${hash}[data-uuid="${id}"]`);
    try {
      await panel.locator('.radseal-badge').first().waitFor({ timeout: 60000 });
    } catch (err) {
      throw new Error(`no radseal panel on ${hash} ${id}: ${(err as Error).message}\npage: ${(await page.locator('body').innerText()).slice(0, 600)}\n${env.logs().slice(-3000)}`);
    }
    return panel;
  };

  // Instance pages: the badge's text and colour, and who captured it when.
  for (const [id, verdict] of [[authenticId, 'authentic'], [tamperedId, 'tampered']] as const) {
    const panel = await openPanel('instance', id);
    const b = panel.locator('.radseal-badge');
    assert.equal((await b.textContent())?.trim(), verdict, (await panel.textContent())!);
    assert.equal(await b.evaluate((e) => getComputedStyle(e).backgroundColor), rgb(VERDICT_STYLE[verdict].colour));
    const text = (await panel.textContent())!;
    assert.match(text, /Device: DX-ROOM-3/);
    assert.match(text, /Technologist: Doe\^Jane/);
    assert.match(text, /Captured: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    if (verdict === 'tampered') assert.match(text, /signature does not match the signed data/, 'the reason is shown');
    assert.ok(await screenshot(page, dir, `explorer-instance-${verdict}`) > 1000);
  }

  // The report link opens radseal's full report, served by Orthanc.
  const panel = await openPanel('instance', tamperedId);
  const href = await panel.locator('a.radseal-report').getAttribute('href');
  const report = await browser.newPage();
  const res = await report.goto(new URL(href!, `${base}`).toString());
  assert.equal(res?.status(), 200);
  assert.match((await report.locator('h1').textContent())!, /Changed after capture/);
  assert.equal(await report.locator('rect.tile').count(), 1, 'the tamper map outlines the changed tile');
  await report.close();

  // Series and study pages: one line for the whole set, one row per image.
  for (const [hash, id] of [['series', seriesId], ['study', studyId]] as const) {
    const p = await openPanel(hash, id);
    assert.equal((await p.locator('.radseal-line').textContent())?.trim(), '3 of 4 images authentic');
    const badges = await p.locator('table .radseal-badge').allTextContents();
    assert.deepEqual(badges.map((s) => s.trim()).sort(), ['authentic', 'authentic', 'authentic', 'tampered']);
    assert.equal(await p.locator('.radseal-head .radseal-badge').evaluate((e) => getComputedStyle(e).backgroundColor), rgb(VERDICT_STYLE.tampered.colour));
    assert.ok(await screenshot(page, dir, `explorer-${hash}`) > 1000);
  }
  assert.deepEqual(errors.filter((e) => /radseal/i.test(e)), [], 'no script errors from the panel');
});
