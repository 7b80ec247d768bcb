// The HTML verification report in Debian's Chromium: it renders with no console error and no
// request beyond the page itself (works offline), and prints on A4 (print stylesheet, PDF pages
// of A4 size, the verdict banner in colour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../dicom/fixtures.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { renderReportHtml, VERDICT_STYLE } from '../../../host/ingest/report.js';
import { launchChromium, rgb, screenshot, watchErrors } from './browser.js';
import { makeStudy } from './study.js';

test('report page: offline (no request leaves it), no console errors, prints on A4', async (t) => {
  const dir = tempDir(t, 'radseal-report-page-');
  const study = await makeStudy(dir);
  const trust = parseCertificates(readFileSync(study.ids.trustPem));
  const browser = await launchChromium(dir);
  t.after(() => browser.close());
  const context = await browser.newContext();
  for (const [name, bytes, verdict] of [['authentic', study.bytes[0]!, 'authentic'], ['tampered', study.bytes[3]!, 'tampered']] as const) {
    const report = verifyObject(`${name}.dcm`, bytes, trust);
    assert.equal(report.verdict, verdict);
    const file = join(dir, `${name}.html`);
    writeFileSync(file, renderReportHtml(report, bytes, { trustAnchors: trust.map((c) => c.commonName) }));
    const page = await context.newPage();
    const errors = watchErrors(page);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(requests.filter((u) => u !== url && !u.startsWith('data:')), [], 'no request beyond the page');
    assert.deepEqual(errors, [], 'no console errors');
    assert.equal(await page.locator('.banner').evaluate((e) => getComputedStyle(e).backgroundColor), rgb(VERDICT_STYLE[verdict].colour));
    assert.equal(await page.locator('svg image').evaluate((e) => (e as SVGImageElement).getBBox().width > 0), true, 'the image is drawn');
    assert.equal(await page.locator('rect.tile').count(), verdict === 'tampered' ? 1 : 0);
    assert.ok(await screenshot(page, dir, `report-${name}`) > 5000);

    // Print: A4 pages, the banner still coloured, the JSON details left out.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('details').evaluate((e) => getComputedStyle(e).display), 'none');
    assert.equal(await page.locator('.banner').evaluate((e) => getComputedStyle(e).printColorAdjust), 'exact');
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    writeFileSync(join(dir, `report-${name}.pdf`), pdf);
    const text = pdf.toString('latin1');
    const boxes = [...text.matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(boxes.length >= 1 && boxes.length <= 3, `1 to 3 pages, got ${boxes.length}`);
    for (const [w, h] of boxes) assert.ok(Math.abs(w! - 595.3) < 1.5 && Math.abs(h! - 841.9) < 1.5, `A4 page (595×842 pt), got ${w}×${h}`);
    assert.equal(requests.filter((u) => u !== url && !u.startsWith('data:')).length, 0, 'printing fetched nothing either');
    await page.close();
  }
});
