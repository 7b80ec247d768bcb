// radseal viewer (the built CLI): the prebuilt OHIF Viewer (@ohif/app, pinned) behind radseal's
// same-origin front end, DICOMweb proxied to real Orthanc (DICOMweb plugin) in a private network
// namespace, driven in Debian's Chromium: the viewport overlay says AUTHENTIC in green for a sealed
// image and TAMPERED in red, with the reason, for one changed after sealing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { tempDir } from '../dicom/fixtures.js';
import { startOrthancEnv, dicomWebPlugin, ORTHANC_DICOM, ORTHANC_HTTP } from '../../services/orthanc.js';
import { launchChromium, rgb, screenshot } from './browser.js';
import { makeStudy } from './study.js';
import { startCliInNs } from './services.js';
import { ensureOhif } from '../../../host/web/viewer/ohif-package.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const VIEWER_PORT = 8451;

test('OHIF viewer: provenance overlay for an authentic and a tampered image', { skip: dicomWebPlugin() ? false : 'orthanc-dicomweb not installed' }, async (t) => {
  const dir = tempDir(t, 'radseal-viewer-');
  const study = await makeStudy(dir, { separateStudies: true });
  const env = await startOrthancEnv(dir, { trustPem: study.ids.trustPem, onFailure: 'flag', dicomWeb: true });
  t.after(() => env.stop());
  for (const f of [study.files[0]!, study.files[3]!]) {
    const r = await env.inNs('storescu', ['-aet', 'MODALITY', '-aec', 'ORTHANC', '127.0.0.1', String(ORTHANC_DICOM), f]);
    assert.equal(r.code, 0, r.stderr + env.logs());
  }
  // The pinned OHIF release is fetched once into build/ohif (npm pack, integrity checked) and reused;
  // fetched here, on the host's network: the namespace the viewer runs in has only loopback.
  await ensureOhif(join(ROOT, 'build', 'ohif'));
  const viewer = await startCliInNs(t, env.ns, ['viewer', '--pacs', `http://127.0.0.1:${ORTHANC_HTTP}/dicom-web`, '--listen', `127.0.0.1:${VIEWER_PORT}`,
    '--trust', study.ids.trustPem, '--cache', join(ROOT, 'build', 'ohif')], /radseal viewer: http/);

  const browser = await launchChromium(dir, env.ns);
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 300)));
  page.on('response', async (r) => { if (!/\.(js|css|wasm|png|svg|woff2|json|ico)(\?|$)/.test(r.url())) consoleLines.push(`${r.status()} ${r.url().slice(22, 200)} ${(await r.body().catch(() => Buffer.alloc(0))).subarray(0, 120).toString()}`); });
  page.on('requestfailed', (r) => consoleLines.push(`failed: ${r.url().slice(0, 200)} ${r.failure()?.errorText}`));
  const cases = [
    { name: 'authentic', study: study.studyUids[0]!, text: 'AUTHENTIC', colour: '#3ddc84', reason: null },
    { name: 'tampered', study: study.studyUids[3]!, text: 'TAMPERED', colour: '#ff5a4f', reason: /signature does not match the signed data/ },
  ];
  for (const c of cases) {
    await page.goto(`http://127.0.0.1:${VIEWER_PORT}/viewer?StudyInstanceUIDs=${c.study}`);
    const item = page.locator('.overlay-item', { hasText: 'radseal:' }).first();
    try {
      await item.waitFor({ timeout: 45000 });
    } catch (err) {
      await screenshot(page, dir, `viewer-${c.name}-failed`);
      throw new Error(`no radseal overlay for the ${c.name} image: ${(err as Error).message}\n${viewer.output().slice(-2000)}\n${consoleLines.slice(-40).join('\n')}`);
    }
    assert.equal((await item.textContent())?.replace(/\s+/g, ''), `radseal:${c.text}`);
    assert.equal(await item.evaluate((e) => getComputedStyle(e).color), rgb(c.colour));
    const why = page.locator('.overlay-item', { hasText: 'why:' });
    if (c.reason) {
      // The reason, one overlay line after another (OHIF cuts long lines), all in red.
      const items = page.locator('.overlay-item');
      const texts = await items.allTextContents();
      const at = texts.findIndex((x) => x.startsWith('why:'));
      assert.ok(at >= 0, 'a reason line');
      assert.match(texts.slice(at, at + 4).join(' ').replace(/^why:/, '').replace(/\s+/g, ' '), c.reason);
      assert.equal(await why.first().evaluate((e) => getComputedStyle(e).color), rgb(c.colour));
    } else {
      assert.equal(await why.count(), 0, 'no reason line for an authentic image');
    }
    assert.ok(await screenshot(page, dir, `viewer-${c.name}`) > 5000);
  }
});
