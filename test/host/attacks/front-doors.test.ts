// One representative attack per class through every front door a user has:
// `radseal verify --json` (exit 1, a report per file), the ingest gateway
// (`radseal ingest --listen`, sent with DCMTK storescu), the folder watcher
// (`radseal ingest --watch`) and the verify-service (`radseal verify-service`,
// POST /verify). The services are the built CLI run as child processes, as an
// administrator runs them; run this file in a private network namespace
// (unshare -n, like test/run.sh). Nothing non-authentic may be stored.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { tempDir, ROOT } from '../support/run.js';
import { sealTo, testFrame, TECH_PIN } from '../dicom/fixtures.js';
import { loadTechnologist } from '../../../host/seal/device.js';
import { cStore } from '../../../host/net/cstore.js';
import { sealedObject, verifyCli, writeIn, type Sealed } from './support.js';
import { edit, insertBefore, insertSorted, must, str, us, bin, t, type Part10 } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-doors-');
let s: Sealed;

interface Attack {
  cls: string;
  name: string;
  bytes: Uint8Array;
  /** Expected verdict, or 'not-authentic'. */
  expect: string;
  /** Over C-STORE only the data set travels: preamble and meta header attacks do not apply. */
  dataSetAttack: boolean;
}
const attacks: Attack[] = [];

const PX = t(0x7fe0, 0x0010);
const forgedPixels = (f: Part10) => {
  const px = must(f.dataSet, PX);
  insertBefore(f.dataSet, PX, bin(PX, 'OW', px.value!.map((b, i) => (i % 2 ? b : b ^ 0x3c))));
};
const overlay = (f: Part10) => {
  for (const e of [us(t(0x6000, 0x0010), 64), us(t(0x6000, 0x0011), 80), str(t(0x6000, 0x0040), 'CS', 'G'), us(t(0x6000, 0x0100), 1), us(t(0x6000, 0x0102), 0),
    bin(t(0x6000, 0x3000), 'OW', new Uint8Array(640).fill(0xff))]) insertSorted(f.dataSet, e);
};
const macConstructor = (f: Part10) => {
  must(must(f.dataSet, t(0x4ffe, 0x0001)).items![0]!.elements, t(0x0400, 0x0015)).value = str(0, 'CS', 'constructor').value;
};
const lengthLie = (f: Part10) => void (must(f.dataSet, t(0x0009, 0x1009)).lengthOverride = 0x7ffffff0);
const peStub = (f: Part10) => {
  f.preamble = new Uint8Array(128);
  f.preamble.set([0x4d, 0x5a]);
  new DataView(f.preamble.buffer).setUint32(0x3c, 0x40, true);
  f.preamble.set([0x50, 0x45, 0, 0], 0x40);
};

before(async () => {
  s = await sealedObject(dir);
  // A technologist's certificate used as the device's: sealed completely, wrong role.
  const tech = loadTechnologist(s.ids.certs.techKey, s.ids.certs.technologist, TECH_PIN);
  const techAsDevice = await sealTo(join(dir, 'tech-as-device.dcm'), testFrame(64, 80, 14, 3), { deviceId: tech.operatorId, boardId: 'x', signer: tech.signer, certificateDer: tech.certificateDer });
  attacks.push(
    { cls: '1 duplicates', name: 'forged Pixel Data before the signed one', bytes: edit(s.bytes, forgedPixels), expect: 'invalid', dataSetAttack: true },
    { cls: '2 unsigned additions', name: 'overlay plane added', bytes: edit(s.bytes, overlay), expect: 'not-authentic', dataSetAttack: true },
    { cls: '3 lookup tables', name: 'MAC Algorithm "constructor"', bytes: edit(s.bytes, macConstructor), expect: 'invalid', dataSetAttack: true },
    { cls: '4 roles', name: 'technologist certificate as the device', bytes: techAsDevice, expect: 'untrusted', dataSetAttack: true },
    { cls: '6 resources', name: 'declared length beyond the file', bytes: edit(s.bytes, lengthLie), expect: 'invalid', dataSetAttack: false },
    { cls: '9 preamble', name: 'MZ/PE preamble', bytes: edit(s.bytes, peStub), expect: 'invalid', dataSetAttack: false },
  );
});

const matches = (verdict: string, expect: string) => (expect === 'not-authentic' ? verdict !== 'authentic' : verdict === expect);

test('CLI: one representative per class in one batch: exit 1, a JSON report per file with the expected verdict; a genuine re-encoding stays authentic', () => {
  const files = attacks.map((a, i) => writeIn(dir, `cli-${i}.dcm`, a.bytes));
  const reencoded = writeIn(dir, 'cli-reencoded.dcm', edit(s.bytes, () => {}, { undefinedLengths: true, groupLengths: true }));
  const r = verifyCli([...files, reencoded], s.ids.trustPem);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.reports.length, files.length + 1);
  const wrong = attacks.map((a, i) => [a, r.reports[i]!] as const).filter(([a, rep]) => !matches(rep.verdict, a.expect))
    .map(([a, rep]) => `class ${a.cls}, ${a.name}: expected ${a.expect}, got ${rep.verdict} (${rep.reasons.join(' | ')})`);
  if (r.reports.at(-1)!.verdict !== 'authentic') wrong.push(`class 8 re-encoding: expected authentic, got ${r.reports.at(-1)!.verdict} (${r.reports.at(-1)!.reasons.join(' | ')})`);
  assert.deepEqual(wrong, []);
});

// ---- services, as child processes of the built CLI ----

interface Service { proc: ChildProcess; out: () => string; port: number; stop(): Promise<void> }

function startCli(args: string[], ready: RegExp): Promise<Service> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'radseal.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const stop = () => new Promise<void>((res) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return res();
    proc.once('exit', () => res());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${log}`)), 20000);
    const on = (d: Buffer) => {
      log += String(d);
      const m = ready.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, out: () => log, port: Number(m[1] ?? 0), stop });
      }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`service exited (${code}): ${log}`)); });
  });
}

const readAudit = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { verdict: string; action: string; source: { via: string } }) : []);
const dcmFiles = (d: string) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.dcm')) : []);

async function until(what: string, check: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function serviceArgs(name: string): { args: string[]; store: string; quarantine: string; audit: string } {
  const base = join(dir, name);
  mkdirSync(base, { recursive: true });
  const store = join(base, 'store'), quarantine = join(base, 'quarantine'), audit = join(base, 'audit.jsonl');
  return { args: ['--trust', s.ids.trustPem, '--quarantine', quarantine, '--audit', audit], store, quarantine, audit };
}

test('gateway (radseal ingest --listen) fed by DCMTK storescu: every attack refused or quarantined and audited, none stored', async (t) => {
  const a = serviceArgs('gateway');
  const gw = await startCli(['ingest', '--listen', '127.0.0.1:0', '--ae', 'RADSEAL', '--store', a.store, '--on-failure', 'reject', ...a.args], /listening on 127\.0\.0\.1:(\d+)/);
  t.after(() => gw.stop());
  const sent = attacks.filter((x) => x.dataSetAttack);
  const storescu = (f: string) => new Promise<string>((res) => execFile('storescu', ['-v', '-aet', 'ATTACKER', '-aec', 'RADSEAL', '127.0.0.1', String(gw.port), f], (_e, so, se) => res(so + se)));
  for (const [i, x] of sent.entries()) {
    const out = await storescu(writeIn(dir, `gw-${i}.dcm`, x.bytes));
    assert.doesNotMatch(out, /Received Store Response \(Success\)/, `${x.name} was accepted: ${out}`);
  }
  // storescu re-encodes what DCMTK read (the first Pixel Data only); radseal's SCU moves the bytes
  // exactly, so the gateway also meets the duplicate itself.
  await assert.rejects(cStore({ calledAe: 'RADSEAL', host: '127.0.0.1', port: gw.port, callingAe: 'ATTACKER2' }, attacks[0]!.bytes), /0xa900/);
  // Positive control: the sealed object itself is stored.
  assert.match(await storescu(s.file), /Received Store Response \(Success\)/);
  await until('audit records', () => readAudit(a.audit).length >= sent.length + 2);
  const recs = readAudit(a.audit);
  assert.deepEqual(recs.slice(0, sent.length + 1).map((r) => [r.verdict !== 'authentic', r.action]), [...sent, 0].map(() => [true, 'rejected']), JSON.stringify(recs));
  assert.equal(recs[sent.length]!.verdict, 'invalid', 'the byte-exact duplicate is named invalid');
  assert.equal(recs.at(-1)!.verdict, 'authentic');
  assert.equal(dcmFiles(a.store).length, 1, 'only the genuine object is stored');
  assert.equal(dcmFiles(a.quarantine).length, sent.length + 1);
});

test('folder watcher (radseal ingest --watch): every attack (preamble and meta ones too) quarantined and audited, none stored', async (t) => {
  const a = serviceArgs('watch');
  const drop = join(dir, 'watch', 'drop'), staging = join(dir, 'watch', 'staging');
  mkdirSync(drop, { recursive: true });
  mkdirSync(staging, { recursive: true });
  const w = await startCli(['ingest', '--watch', drop, '--store', a.store, '--on-failure', 'reject', ...a.args], /watching/);
  t.after(() => w.stop());
  for (const [i, x] of attacks.entries()) {
    writeFileSync(join(staging, `w-${i}.dcm`), x.bytes);
    renameSync(join(staging, `w-${i}.dcm`), join(drop, `w-${i}.dcm`));
  }
  await until('audit records', () => readAudit(a.audit).length >= attacks.length);
  const recs = readAudit(a.audit);
  assert.ok(recs.every((r) => r.verdict !== 'authentic' && r.source.via === 'watch'), JSON.stringify(recs));
  assert.equal(dcmFiles(a.store).length, 0, 'nothing stored');
  // The watcher audits each file durably before it removes it from the drop folder (nothing lost
  // if it stops in between), so the last removal can follow the last audit record.
  await until('the drop folder emptied', () => dcmFiles(drop).length === 0);
  assert.equal(readAudit(a.audit).length, attacks.length, 'each file audited once');
});

function post(port: number, body: Uint8Array): Promise<{ status: number; json: { verdict: string; authentic: boolean; reasons: string[]; delete: boolean } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/verify?via=attack&ae=ATTACKER&host=127.0.0.1', headers: { 'content-type': 'application/dicom', 'content-length': body.length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString('utf8')) });
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('verify-service (POST /verify): HTTP 200 with the expected verdict for every attack, delete asked under reject', async (t) => {
  const a = serviceArgs('service');
  const svc = await startCli(['verify-service', '--listen', '127.0.0.1:0', '--on-failure', 'reject', ...a.args], /listening on http:\/\/127\.0\.0\.1:(\d+)/);
  t.after(() => svc.stop());
  const wrong: string[] = [];
  for (const x of attacks) {
    const r = await post(svc.port, x.bytes);
    assert.equal(r.status, 200, `${x.name}: HTTP ${r.status}`);
    assert.equal(r.json.authentic, false, `${x.name}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.delete, true);
    if (!matches(r.json.verdict, x.expect)) wrong.push(`class ${x.cls}, ${x.name}: expected ${x.expect}, got ${r.json.verdict} (${r.json.reasons.join(' | ')})`);
  }
  const control = await post(svc.port, s.bytes);
  assert.equal(control.json.verdict, 'authentic', control.json.reasons.join(' | '));
  assert.equal(readAudit(a.audit).length, attacks.length + 1);
  assert.deepEqual(wrong, []);
});
