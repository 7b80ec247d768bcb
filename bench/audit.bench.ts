// Audit throughput beside the gateway it serves, in the same run:
// - JSON audit records appended and fsynced per second (host/ingest/audit.ts AuditLog.append);
// - ATNA messages per second delivered over syslog/TLS (RFC 5425, mutual TLS) to a real rsyslog
//   (imtcp + gtls, writing to a file): counted from emit() until rsyslog has written them all;
// - the ingest gateway's own rate: an Ingestor (verify, store, audit record, its ATNA messages)
//   on sealed 3072x3072 14-bit objects, in a child process;
// each alone, then all three at once (the audit loops run while the gateway verifies). The
// ratio audit rate / gateway rate says how many records (messages) the audit can take per object
// the gateway verifies: each object needs one record and one or two messages.
//
//   npm run bench:audit    (in a private network namespace; RADSEAL_BENCH_OBJECTS, RADSEAL_BENCH_REPS)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AuditLog, type AuditEntry } from '../host/ingest/audit.js';
import { createSyslogAuditSink } from '../host/audit/sink.js';
import { loadTls } from '../host/net/tls.js';
import { parseCertificates } from '../host/keys/certs.js';
import { Ingestor } from '../host/ingest/gateway/ingest.js';
import { makePki, EVERY_EVENT } from '../test/host/audit/fixtures.js';
import { rsyslog, spoolSeqs } from '../test/host/audit/rsyslog.js';
import { machineLine, median } from './support.js';

const OBJECTS = Math.max(2, Number(process.env.RADSEAL_BENCH_OBJECTS ?? 6));
const REPS = Math.max(1, Number(process.env.RADSEAL_BENCH_REPS ?? 3));
const RECORDS = 2000;
const MESSAGES = 2000;
const ROOT = resolve(import.meta.dirname, '..');
const source = { id: 'bench', type: '4' as const };
const transferred = EVERY_EVENT.find(([n]) => n === 'instances transferred (new)')![1];

const entry = (i: number): AuditEntry => ({
  source: { via: 'c-store', ae: 'MODALITY1', host: '10.1.2.3' }, sopInstanceUid: `2.25.${1e9 + i}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  fileSha256: 'ab'.repeat(32), bytes: 18_900_000, verdict: 'authentic', reasons: [],
  signers: [{ cn: 'DX-ROOM-3', role: 'device', algorithm: 'Ed25519', valid: true, trusted: true }], device: 'DX-ROOM-3',
  technologist: { operatorId: 'tech042', signer: 'tech042', accepted: true }, watermark: null, tamperedTiles: null,
  action: 'stored', location: `store/2.25.${1e9 + i}.dcm`, policy: 'reject',
});

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Appends records (fsync each) until `until()` says stop or `max` are written; returns records/s. */
async function appendLoop(path: string, until: () => boolean, max: number): Promise<{ n: number; perS: number }> {
  const log = new AuditLog(path);
  const t0 = performance.now();
  let n = 0;
  while (n < max && !until()) {
    log.append(entry(n++));
    if (n % 20 === 0) await tick();
  }
  const s = (performance.now() - t0) / 1000;
  log.close();
  return { n, perS: n / s };
}

/** Emits messages until stopped, then waits until rsyslog has written every one; returns delivered messages/s. */
async function atnaLoop(dir: string, tls: ReturnType<typeof loadTls>, port: number, received: string, until: () => boolean, max: number): Promise<{ n: number; perS: number }> {
  const before = lineCount(received);
  const sink = createSyslogAuditSink(`tls://127.0.0.1:${port}`, { tls, spoolDir: join(dir, `spool-${Date.now()}`), source });
  const t0 = performance.now();
  let n = 0;
  while (n < max && !until()) {
    sink.emit({ ...transferred, time: new Date() });
    n++;
    if (n % 20 === 0) await tick();
  }
  while (lineCount(received) - before < n) await new Promise((r) => setTimeout(r, 20));
  const s = (performance.now() - t0) / 1000;
  await sink.close();
  return { n, perS: n / s };
}

function lineCount(file: string): number {
  try {
    statSync(file);
  } catch {
    return 0;
  }
  // This loop's messages only (the gateway child reports as "gateway").
  return spoolSeqs(readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('AuditSourceID="bench"'))).length;
}

/** The gateway's work in a child process: ingest the sealed object OBJECTS times, with ATNA to the repository. */
function gatewayChild(dir: string, port: number, atna = true): Promise<{ objects: number; perS: number }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'audit.bench.ts'), 'gateway', dir, String(port), atna ? 'atna' : 'no-atna'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.once('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop()!)) : rej(new Error(`gateway child exited ${code}: ${out}`))));
  });
}

async function gatewayMain(dir: string, port: number, atna: boolean): Promise<void> {
  const run = mkdtempSync(join(dir, 'gw-'));
  const tls = loadTls({ key: join(dir, 'gateway.key'), cert: join(dir, 'gateway.pem'), ca: join(dir, 'site-ca.pem') });
  const audit = new AuditLog(join(run, 'audit.jsonl'));
  const sink = createSyslogAuditSink(`tls://127.0.0.1:${port}`, { tls, spoolDir: join(run, 'spool'), source: { id: 'gateway', type: '4' } });
  const trust = parseCertificates(readFileSync(join(dir, 'keys', 'trust.pem')));
  const ingestor = new Ingestor({ trust, storeDir: join(run, 'store'), quarantineDir: join(run, 'q'), audit, onNonAuthentic: 'reject', ...(atna ? { atna: { sink, receiver: { userId: 'RADSEAL' } } } : {}) });
  const bytes = new Uint8Array(readFileSync(join(dir, 'sealed-0.dcm')));
  await ingestor.ingest(bytes, { via: 'c-store', ae: 'MODALITY1', host: '10.1.2.3' }); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < OBJECTS; i++) {
    const r = await ingestor.ingest(bytes, { via: 'c-store', ae: 'MODALITY1', host: '10.1.2.3' });
    if (r.report.verdict !== 'authentic') throw new Error(`bench object not authentic: ${r.report.reasons.join('; ')}`);
  }
  const s = (performance.now() - t0) / 1000;
  await sink.close();
  audit.close();
  console.log(JSON.stringify({ objects: OBJECTS, perS: OBJECTS / s }));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'radseal-bench-audit-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  makePki(dir, 'site-ca', [{ name: 'arr', san: 'IP:127.0.0.1' }, { name: 'gateway' }]);
  const tls = loadTls({ key: join(dir, 'gateway.key'), cert: join(dir, 'gateway.pem'), ca: join(dir, 'site-ca.pem') });
  const arr = rsyslog(dir, { ca: 'site-ca.pem', cert: 'arr.pem', key: 'arr.key', tcpPort: 6530, udpPort: 5530 });
  await arr.start();
  try {
    console.log(`radseal audit benchmark: ${machineLine()}; ${OBJECTS} objects of 3072x3072 per gateway run, ${RECORDS} records, ${MESSAGES} messages, ${REPS} reps`);
    // Sealed 3072x3072 objects and the trust bundle, made the way the tests make them.
    const { makeObjects } = await import('../test/services/ingest-fixtures.js');
    const objs = await makeObjects(dir, 2, 3072, 3072);
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(join(dir, 'keys', 'trust.pem'), readFileSync(objs.ids.trustPem));
    const rows: Record<string, number[]> = { gwNoAtna: [], gwAlone: [], recAlone: [], atnaAlone: [], gwBusy: [], recBusy: [], atnaBusy: [] };
    for (let rep = 0; rep < REPS; rep++) {
      rows.gwNoAtna!.push((await gatewayChild(dir, arr.tcpPort, false)).perS);
      rows.gwAlone!.push((await gatewayChild(dir, arr.tcpPort)).perS);
      rows.recAlone!.push((await appendLoop(join(dir, `alone-${rep}.jsonl`), () => false, RECORDS)).perS);
      rows.atnaAlone!.push((await atnaLoop(dir, tls, arr.tcpPort, arr.received, () => false, MESSAGES)).perS);
      // All at once: the audit loops run for as long as the gateway verifies.
      let done = false;
      const gw = gatewayChild(dir, arr.tcpPort).finally(() => (done = true));
      const [g, r, a] = await Promise.all([gw, appendLoop(join(dir, `busy-${rep}.jsonl`), () => done, Infinity), atnaLoop(dir, tls, arr.tcpPort, arr.received, () => done, Infinity)]);
      rows.gwBusy!.push(g.perS);
      rows.recBusy!.push(r.perS);
      rows.atnaBusy!.push(a.perS);
      console.log(`rep ${rep + 1}: gateway ${g.perS.toFixed(2)} obj/s (alone ${rows.gwAlone![rep]!.toFixed(2)}); records ${r.perS.toFixed(0)}/s (alone ${rows.recAlone![rep]!.toFixed(0)}); ATNA ${a.perS.toFixed(0)} msg/s (alone ${rows.atnaAlone![rep]!.toFixed(0)})`);
    }
    const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as Record<keyof typeof rows, number>;
    console.log('\n| | alone | with the gateway verifying | ratio to the gateway (busy) |');
    console.log('|---|---|---|---|');
    console.log(`| gateway without ATNA, 3072² objects/s (verify, store, record) | ${m.gwNoAtna.toFixed(2)} | | |`);
    console.log(`| gateway with ATNA, 3072² objects/s (verify, store, record, messages) | ${m.gwAlone.toFixed(2)} | ${m.gwBusy.toFixed(2)} | 1 |`);
    console.log(`| audit records appended + fsynced /s | ${m.recAlone.toFixed(0)} | ${m.recBusy.toFixed(0)} | ${(m.recBusy / m.gwBusy).toFixed(0)}x |`);
    console.log(`| ATNA messages delivered over TLS /s | ${m.atnaAlone.toFixed(0)} | ${m.atnaBusy.toFixed(0)} | ${(m.atnaBusy / m.gwBusy).toFixed(0)}x |`);
  } finally {
    await arr.stop();
  }
}

if (process.argv[2] === 'gateway') await gatewayMain(process.argv[3]!, Number(process.argv[4]), process.argv[5] === 'atna');
else await main();
