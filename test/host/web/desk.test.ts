// The quarantine desk (radseal desk, the built CLI) in a private network namespace with real
// Orthanc as the PACS, driven in Debian's Chromium: refusal without a credential, the list
// (badges, reasons, source AE, tamper-map thumbnail), the full report, release to Orthanc and
// delete, each refused without a reason, each an audit record in the same chain as the ingest's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../dicom/fixtures.js';
import { startOrthancEnv, ORTHANC_DICOM, ORTHANC_HTTP } from '../../services/orthanc.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { AuditLog, readAuditRecords, verifyAuditLog } from '../../../host/ingest/audit.js';
import { Ingestor } from '../../../host/ingest/gateway/ingest.js';
import { parsePart10 } from '../../../host/net/cstore.js';
import { VERDICT_STYLE } from '../../../host/ingest/report.js';
import { stripSignatures } from '../../services/ingest-fixtures.js';
import { launchChromium, rgb, screenshot, watchErrors } from './browser.js';
import { makeStudy } from './study.js';
import { startCliInNs } from './services.js';

const DESK_PORT = 8450;
const TOKEN = 'alice:0123456789abcdef-desk-token';

test('quarantine desk: credential required; list, report, release to Orthanc and delete with reasons, audited', async (t) => {
  const dir = tempDir(t, 'radseal-desk-');
  const study = await makeStudy(dir);
  const env = await startOrthancEnv(dir, { trustPem: study.ids.trustPem, onFailure: 'flag' });
  t.after(() => env.stop());

  // The real ingest quarantines a tampered and an unsigned object, writing the first audit records.
  const quarantine = join(dir, 'desk-quarantine');
  const auditPath = join(dir, 'desk-audit.jsonl');
  const ingestAudit = new AuditLog(auditPath);
  const ingestor = new Ingestor({ trust: parseCertificates(readFileSync(study.ids.trustPem)), quarantineDir: quarantine, audit: ingestAudit, onNonAuthentic: 'reject' });
  const tampered = study.bytes[3]!;
  const unsigned = stripSignatures(study.bytes[1]!);
  await ingestor.ingest(tampered, { via: 'c-store', ae: 'DXROOM3', host: '10.1.2.3' });
  await ingestor.ingest(unsigned, { via: 'c-store', ae: 'OLDCR', host: '10.1.2.4' });
  ingestAudit.close();
  const tamperedUid = parsePart10(tampered).sopInstanceUid;

  const tokenFile = join(dir, 'tokens');
  writeFileSync(tokenFile, `# desk admins\n${TOKEN}\n`, { mode: 0o600 });
  const desk = await startCliInNs(t, env.ns, ['desk', '--quarantine', quarantine, '--audit', auditPath, '--listen', `127.0.0.1:${DESK_PORT}`,
    '--token-file', tokenFile, '--forward', `ORTHANC@127.0.0.1:${ORTHANC_DICOM}`], /radseal desk: http/);
  const base = `http://127.0.0.1:${DESK_PORT}`;

  const browser = await launchChromium(dir, env.ns);
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  // A form posted from the page (the desk's CSP allows no fetch; playwright's request API runs
  // outside the namespace); returns the answer's status, then reloads the desk.
  const post = async (path: string, form: Record<string, string>) => {
    const [answer] = await Promise.all([page.waitForNavigation(), page.evaluate(([p, f]) => {
      const el = document.createElement('form');
      el.method = 'post';
      el.action = p;
      for (const [k, v] of Object.entries(f)) el.appendChild(Object.assign(document.createElement('input'), { name: k, value: v }));
      document.body.appendChild(el);
      el.submit();
    }, [path, form] as const)]);
    await page.goto(`${base}/`);
    return answer!.status();
  };

  // Without a credential: a sign-in form, nothing listed, and decisions refused.
  let res = await page.goto(`${base}/`);
  assert.equal(res?.status(), 401);
  assert.equal(await page.locator('tr[data-id]').count(), 0);
  assert.equal(await page.locator('input[name=token]').count(), 1);
  const anyId = readdirSync(quarantine).find((f) => f.endsWith('.json'))!;
  const id = (JSON.parse(readFileSync(join(quarantine, anyId), 'utf8')) as { ingest: { fileSha256: string } }).ingest.fileSha256;
  assert.equal(await post(`/object/${id}/delete`, { reason: 'no credential at all', csrf: 'x' }), 401);
  assert.equal(readdirSync(quarantine).filter((f) => f.endsWith('.dcm')).length, 2, 'nothing deleted without a credential');
  await page.fill('input[name=token]', 'alice:wrong-token-000000');
  await page.click('form[action="/login"] button');
  assert.match(await page.locator('.msg.err').textContent() ?? '', /not valid/);
  assert.ok(await screenshot(page, dir, 'desk-refused') > 1000);

  // Signed in: both objects, with verdict, reasons, source AE and a tamper map.
  await page.fill('input[name=token]', TOKEN.split(':').slice(1).join(':'));
  await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button')]);
  const rows = page.locator('tr[data-id]');
  assert.equal(await rows.count(), 2);
  const row = (verdict: string) => page.locator(`tr[data-id]:has(.badge[data-verdict="${verdict}"])`);
  for (const [verdict, ae] of [['tampered', 'DXROOM3'], ['unsigned', 'OLDCR']] as const) {
    const r = row(verdict);
    assert.equal((await r.locator('.badge').textContent())?.trim(), verdict);
    assert.equal(await r.locator('.badge').evaluate((e) => getComputedStyle(e).backgroundColor), rgb(VERDICT_STYLE[verdict].colour));
    assert.match((await r.locator('.source').textContent())!, new RegExp(`AE ${ae} via c-store`));
    assert.equal(await r.locator('.thumb svg image').count(), 1, 'a thumbnail of the image');
  }
  assert.equal(await row('tampered').locator('.thumb rect.tile').count(), 1, 'the changed tile outlined');
  assert.match((await row('tampered').textContent())!, /signature does not match the signed data/);
  // No UID or patient value in any link or form address.
  for (const href of [...await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href'))), ...await page.locator('form[action]').evaluateAll((fs) => fs.map((f) => f.getAttribute('action')))]) {
    assert.match(href!, /^\/(object\/[0-9a-f]{64}\/(report|release|delete)|login|logout)$/, `an address without PHI: ${href}`);
  }
  assert.ok(await screenshot(page, dir, 'desk-list') > 5000);

  // The full report of the tampered object.
  const reportHref = await row('tampered').locator('a.report').getAttribute('href');
  const report = await context.newPage();
  assert.equal((await report.goto(`${base}${reportHref}`))?.status(), 200);
  assert.match((await report.locator('h1').textContent())!, /Changed after capture/);
  await report.close();

  // A decision without a reason is refused (the browser's own check removed, as a script would).
  await row('tampered').locator('form[action$="/release"] input[name=reason]').evaluate((e) => e.removeAttribute('required'));
  await row('tampered').locator('form[action$="/release"] button').click();
  assert.match(await page.locator('.msg.err').textContent() ?? '', /A reason is required/);
  assert.equal(await rows.count(), 2);

  // A forged form (no desk token) is refused even with the session cookie.
  assert.equal(await post(`/object/${id}/delete`, { reason: 'forged from elsewhere', csrf: '0'.repeat(64) }), 403);

  // Release the tampered object to Orthanc, delete the unsigned one.
  await row('tampered').locator('form[action$="/release"] input[name=reason]').fill('Confirmed with radiographer: annotation burned in by the modality');
  await row('tampered').locator('form[action$="/release"] button').click();
  assert.match(await page.locator('.msg').first().textContent() ?? '', /Released to PACS \(audit record #3\)/);
  await row('unsigned').locator('form[action$="/delete"] input[name=reason]').fill('Duplicate test image from the old CR');
  await row('unsigned').locator('form[action$="/delete"] button').click();
  assert.match(await page.locator('.msg').first().textContent() ?? '', /Deleted \(audit record #4\)/);
  assert.equal(await rows.count(), 0);
  assert.ok(await screenshot(page, dir, 'desk-after') > 1000);

  const found = await env.inNs('curl', ['-sf', '-X', 'POST', '-d', JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: tamperedUid } }), `http://127.0.0.1:${ORTHANC_HTTP}/tools/find`]);
  assert.equal((JSON.parse(found.stdout) as string[]).length, 1, 'the released object is in Orthanc');
  assert.deepEqual(readdirSync(quarantine).filter((f) => f.endsWith('.dcm')), [], 'the quarantine is empty');
  assert.equal(readdirSync(join(quarantine, '.released')).filter((f) => f.endsWith('.dcm')).length, 1, 'the released copy kept as evidence');

  // The decisions in the audit chain, after the ingest's records, with operator and reason.
  await desk.stop();
  assert.equal(verifyAuditLog(auditPath).ok, true);
  const recs = readAuditRecords(auditPath).records;
  assert.equal(recs.length, 4);
  const [rel, del] = recs.slice(2) as unknown as Array<Record<string, unknown>>;
  assert.deepEqual([rel!.kind, rel!.action, rel!.outcome, rel!.operator, rel!.reason, rel!.fileSha256],
    ['admin', 'quarantine-release', 'success', 'token:alice', 'Confirmed with radiographer: annotation burned in by the modality', (recs[0] as unknown as { fileSha256: string }).fileSha256]);
  assert.deepEqual([del!.kind, del!.action, del!.outcome, del!.operator, del!.reason], ['admin', 'quarantine-delete', 'success', 'token:alice', 'Duplicate test image from the old CR']);
  // No PHI in the audit log or the desk's own log lines.
  const logs = readFileSync(auditPath, 'utf8') + desk.output();
  for (const phi of ['Test^Patient', 'PID-0001', '19700101']) assert.ok(!logs.includes(phi), `no ${phi}`);
  assert.ok(!desk.output().includes(tamperedUid), 'the desk log names objects by hash, not UID');
  assert.deepEqual(errors.filter((e) => !/401|403/.test(e)), []);
});

test('quarantine desk: never starts open, and tokens never in clear beyond loopback', async (t) => {
  const { deskStartProblem } = await import('../../../host/web/desk/server.js');
  assert.match(deskStartProblem({ host: '127.0.0.1' })!, /never runs open/);
  assert.match(deskStartProblem({ host: '0.0.0.0', tokens: [{ name: 'a', token: 'x'.repeat(16) }] })!, /in clear/);
  assert.equal(deskStartProblem({ host: '127.0.0.1', tokens: [{ name: 'a', token: 'x'.repeat(16) }] }), null);
  const dir = tempDir(t, 'radseal-desk-open-');
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', '..', 'bin', 'radseal.js'), 'desk', '--quarantine', dir, '--audit', join(dir, 'a.jsonl'), '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /never runs open/);
  assert.equal(existsSync(join(dir, 'a.jsonl')), false, 'nothing opened');
});
