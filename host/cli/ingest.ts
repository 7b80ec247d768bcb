// radseal ingest | verify-service | audit verify | report: PACS-side commands.
// Argument parsing and wiring only; the work is in host/ingest/.
// The work is loaded when a command runs (`radseal --help` loads only the option definitions).
import { Option, type Command } from 'commander';
import { withVerifyOptions, type VerifyOptionValues, type VerifySettings } from './verify-options.js';
import type { Ingestor, NonAuthenticPolicy } from '../ingest/gateway/ingest.js';
import { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_OBJECT_BYTES, formatBytes } from '../net/limits.js';
import { withTlsOptions, type TlsOptionValues } from './tls-options.js';
import { withAuditSyslogOptions, type AuditSyslogOptionValues } from '../audit/cli-options.js';
import { hostPort } from './args.js';

/** A byte count: 1073741824, 1GiB, 512MiB, 64KiB (also GB/MB/KB, read as powers of 1024). */
export function parseByteSize(v: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|k|m|g|ki|mi|gi)(?:i?b)?$/i.exec(v.trim());
  const scale: Record<string, number> = { '': 1, k: 2 ** 10, ki: 2 ** 10, m: 2 ** 20, mi: 2 ** 20, g: 2 ** 30, gi: 2 ** 30 };
  const n = m ? Math.floor(Number(m[1]) * scale[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a byte count such as 1073741824, 512MiB or 2GiB, got "${v}"`);
  return n;
}

const onFailureOption = () => new Option('--on-failure <policy>', 'non-authentic objects: flag (accept, quarantine a copy, audit) or reject (refuse: C-STORE status A900 / delete from Orthanc)')
  .choices(['flag', 'reject']).default('reject');

/**
 * Runs until SIGINT/SIGTERM, then closes. SIGHUP re-reads the trust bundle, policy and
 * watermark key (how a long-running gateway takes a new CRL before the old one's
 * nextUpdate); a bundle that fails to load is reported and the previous one kept.
 */
function untilSignal(close: () => Promise<void>, reload?: { o: VerifyOptionValues; ingestor: Ingestor; settings: (o: VerifyOptionValues) => VerifySettings }): Promise<void> {
  const hangup = () => {
    if (!reload) return;
    try {
      const s = reload.settings(reload.o);
      reload.ingestor.reload(s);
      console.log(`${new Date().toISOString()} reloaded ${reload.o.trust}: ${s.trust.length} certificate(s)${s.trust.crls?.length ? `, ${s.trust.crls.length} revocation list(s)` : ''}`);
    } catch (err) {
      console.error(`${new Date().toISOString()} reload failed, keeping the previous trust bundle: ${(err as Error).message}`);
    }
  };
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', hangup);
      void close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', hangup);
  });
}

export function register(program: Command): void {
  withAuditSyslogOptions(withTlsOptions(withVerifyOptions(program.command('ingest')
    .description('PACS ingest gateway: C-STORE SCP that verifies every object, stores (and forwards) authentic ones, quarantines the rest, audits all')), 'the listener and the forwarding'))
    .option('--listen <host:port>', 'C-STORE SCP address (e.g. 127.0.0.1:11112)')
    .option('--watch <dir>', 'folder mode: ingest every DICOM file (by content, any name) dropped into this folder or a folder below it')
    .option('--ae <title>', 'our AE title (called AE) for the SCP', 'RADSEAL')
    .option('--allow-ae <AE[@address]>', 'only these calling AE titles may send, optionally from one address each (repeat, or comma-separate); default: any', (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)])
    .requiredOption('--store <dir>', 'folder for authentic objects (original bytes)')
    .requiredOption('--quarantine <dir>', 'folder for non-authentic objects and their report JSON')
    .requiredOption('--audit <log>', 'audit log (JSON Lines, hash-chained)')
    .option('--anomaly-rules <file>', 'anomaly rules and thresholds for the live monitor (JSON, host/anomaly/rules.schema.json; defaults in docs/AUDIT.md)')
    .option('--forward <AE@HOST:PORT|URL>', 'forward authentic objects (original bytes) to PACS: C-STORE to AE@HOST:PORT, or STOW-RS to an http(s)://…/studies URL')
    .addOption(onFailureOption())
    .option('--max-object-bytes <n>', `largest object accepted; larger ones are refused (C-STORE status A700) and audited (default ${formatBytes(DEFAULT_MAX_OBJECT_BYTES)})`, (v) => parseByteSize(v, '--max-object-bytes'))
    .option('--max-buffered-bytes <n>', `object bytes held in memory across all associations at once; objects beyond it are refused with A700 (default ${formatBytes(DEFAULT_MAX_BUFFERED_BYTES)})`, (v) => parseByteSize(v, '--max-buffered-bytes'))
    .option('--status-every <s>', 'status line interval in seconds (received, forwarded, queued, dead-lettered); 0: never', (v) => {
      if (!/^\d+$/.test(v)) throw new Error(`--status-every must be a whole number of seconds, got "${v}"`);
      return Number(v);
    }, 300)
    .action(async (o: VerifyOptionValues & TlsOptionValues & AuditSyslogOptionValues & { listen?: string; watch?: string; ae: string; allowAe?: string[]; store: string; quarantine: string; audit: string; forward?: string; onFailure: NonAuthenticPolicy; maxObjectBytes?: number; maxBufferedBytes?: number; statusEvery: number; anomalyRules?: string }) => {
      if (!o.listen === !o.watch) throw new Error('give exactly one of --listen HOST:PORT or --watch DIR');
      const [{ verifySettings }, { tlsFrom }, { isStow, parsePacsTarget }, { AuditLog }, { Ingestor }, { describeStatus, startGateway, watchFolder }] = await Promise.all([
        import('./verify-settings.js'), import('./tls-options.js'), import('../net/destination.js'), import('../ingest/audit.js'),
        import('../ingest/gateway/ingest.js'), import('../ingest/gateway/gateway.js'),
      ]);
      const settings = verifySettings(o);
      const tls = tlsFrom(o);
      if (tls && o.watch && !o.forward) throw new Error('--tls-key/--tls-cert/--tls-ca secure network connections: folder mode (--watch) has none unless it forwards');
      // One TLS identity for the listener and a C-STORE PACS; a STOW-RS PACS uses its https:// URL.
      const target = o.forward ? parsePacsTarget(o.forward, /^https?:\/\//i.test(o.forward) ? undefined : tls) : undefined;
      const forward = target && !isStow(target) ? { ...target, callingAe: o.ae } : target;
      const [{ AnomalyMonitor }, { loadRules }] = await Promise.all([import('../anomaly/monitor.js'), import('../anomaly/rules.js')]);
      const anomalyRules = loadRules(o.anomalyRules);
      const audit = new AuditLog(o.audit);
      const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
      const atna = await (await import('../audit/service-audit.js')).startServiceAudit(o, { name: 'radseal ingest', aeTitle: o.ae, sourceType: '4', defaultSpool: `${o.audit}.atna-spool`, log: audit, logLine: log });
      const ingestor = new Ingestor({ ...settings, storeDir: o.store, quarantineDir: o.quarantine, audit, onNonAuthentic: o.onFailure, atna: { sink: atna.sink, receiver: atna.self } });
      const anomalies = new AnomalyMonitor(audit, { rules: anomalyRules, detector: 'ingest', atna: ingestor.o.atna, log });
      if (o.watch) {
        const w = watchFolder(o.watch, ingestor, log, undefined, { maxObjectBytes: o.maxObjectBytes });
        console.log(`radseal ingest: watching ${o.watch} (policy ${o.onFailure}, audit ${o.audit})`);
        await untilSignal(async () => {
          await w.close();
          anomalies.stop();
          await atna.stop();
          audit.close();
        }, { o, ingestor, settings: verifySettings });
        return;
      }
      const { host, port } = hostPort(o.listen!);
      const gw = await startGateway({ host, port, aeTitle: o.ae, allowedCallers: o.allowAe, tls, ingestor, forward, log, maxObjectBytes: o.maxObjectBytes, maxBufferedBytes: o.maxBufferedBytes });
      console.log(`radseal ingest: listening on ${host}:${gw.port}${tls ? ' (TLS)' : ''} as ${o.ae} (policy ${o.onFailure}${forward ? `, forwarding to ${o.forward}` : ''}, audit ${o.audit}; callers: ${o.allowAe?.length ? o.allowAe.join(', ') : 'any'}; limits: ${formatBytes(o.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES)} per object, ${formatBytes(o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)} buffered)`);
      const timer = o.statusEvery > 0 ? setInterval(() => log(describeStatus(gw.status(), forward)), o.statusEvery * 1000) : null;
      await untilSignal(async () => {
        if (timer) clearInterval(timer);
        await gw.close();
        anomalies.stop();
        await atna.stop();
        audit.close();
        log(describeStatus(gw.status(), forward));
      }, { o, ingestor, settings: verifySettings });
    });

  withAuditSyslogOptions(withVerifyOptions(program.command('verify-service')
    .description('HTTP verifier for a PACS hook (Orthanc Python or Lua): POST /verify with DICOM bytes → verdict JSON; loopback only')))
    .requiredOption('--listen <host:port>', 'loopback address, e.g. 127.0.0.1:8043')
    .requiredOption('--quarantine <dir>', 'folder for copies of non-authentic objects and their report JSON')
    .requiredOption('--audit <log>', 'audit log (JSON Lines, hash-chained)')
    .option('--anomaly-rules <file>', 'anomaly rules and thresholds for the live monitor (JSON, host/anomaly/rules.schema.json; defaults in docs/AUDIT.md)')
    .addOption(onFailureOption())
    .action(async (o: VerifyOptionValues & AuditSyslogOptionValues & { listen: string; quarantine: string; audit: string; onFailure: NonAuthenticPolicy; anomalyRules?: string }) => {
      const [{ verifySettings }, { AuditLog }, { Ingestor }, { startVerifyService }] = await Promise.all([
        import('./verify-settings.js'), import('../ingest/audit.js'), import('../ingest/gateway/ingest.js'), import('../ingest/service.js'),
      ]);
      const settings = verifySettings(o);
      const { host, port } = hostPort(o.listen);
      const anomalyRules = (await import('../anomaly/rules.js')).loadRules(o.anomalyRules);
      const audit = new AuditLog(o.audit);
      const logLine = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
      const atna = await (await import('../audit/service-audit.js')).startServiceAudit(o, { name: 'radseal verify-service', sourceType: '4', defaultSpool: `${o.audit}.atna-spool`, log: audit, logLine });
      const ingestor = new Ingestor({ ...settings, quarantineDir: o.quarantine, audit, onNonAuthentic: o.onFailure, flaggedAction: 'stored', atna: { sink: atna.sink, receiver: atna.self } });
      let svc;
      try {
        svc = await startVerifyService({ host, port, ingestor, log: logLine, anomalyRules });
      } catch (err) {
        await atna.stop();
        audit.close();
        throw err;
      }
      console.log(`radseal verify-service: listening on http://${host}:${svc.port}/verify (policy ${o.onFailure}, audit ${o.audit})`);
      await untilSignal(async () => {
        await svc.close();
        await atna.stop();
        audit.close();
      }, { o, ingestor, settings: verifySettings });
    });

  const audit = program.command('audit').description('audit log tools');
  withAuditSyslogOptions(audit.command('verify')
    .description('check an audit log\'s hash chain; name the first broken record (edit, deletion, reordering, truncation)')
    .argument('<log>', 'audit log file')
    .option('--anchor <seq:sha256>', 'a record hash recorded elsewhere earlier (printed by a previous run): must still match')
    .option('--anchors', 'also check every anchor found: LOG.anchors/ (heads sent to the repository, RFC 3161 tokens) and --anchors-from files')
    .option('--anchors-from <file>', "the repository's syslog file holding radseal-head messages (repeat)", (v: string, prev: string[] = []) => [...prev, v])
    .option('--anchor-log-name <path>', 'the log path the service wrote in its head messages (default: LOG as given)')
    .option('--tsa-trust <pem>', "CA certificate(s) the time-stamping authority's certificate must chain to (checks the tokens' signatures)")
    .option('--json', 'print the result as JSON'))
    .action(async (log: string, o: AuditSyslogOptionValues & { anchor?: string; anchors?: boolean; anchorsFrom?: string[]; anchorLogName?: string; tsaTrust?: string; json?: boolean }) => {
      const { verifyAuditLog } = await import('../ingest/audit.js');
      let anchor;
      if (o.anchor) {
        const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(o.anchor);
        if (!m) throw new Error('--anchor must be SEQ:SHA256 (as printed by radseal audit verify)');
        anchor = { seq: Number(m[1]), sha256: m[2]! };
      }
      let r;
      const { startServiceAudit } = await import('../audit/service-audit.js');
      const atna = await startServiceAudit({ ...o, auditTsa: undefined }, { name: 'radseal audit verify', sourceType: '4', defaultSpool: `${log}.atna-spool.verify`, activity: false });
      try {
        if (o.anchors || o.anchorsFrom?.length) {
          const [{ verifyAnchors }, { parseCertificates }, { readFileSync }] = await Promise.all([import('../audit/anchor.js'), import('../keys/certs.js'), import('node:fs')]);
          const tsaTrust = o.tsaTrust ? parseCertificates(readFileSync(o.tsaTrust)).map((c) => c.x509) : undefined;
          r = verifyAnchors(log, { syslogFiles: o.anchorsFrom, logName: o.anchorLogName, tsaTrust, extra: anchor });
          if (!o.json) for (const s of r.sources) console.log(`anchors: ${s.anchors} from ${s.from}`);
        } else {
          r = verifyAuditLog(log, { anchor });
        }
      } catch (err) {
        throw new Error(`cannot read ${log}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      } finally {
        const { auditLogUsed } = await import('../audit/emit.js');
        atna.sink.emit(auditLogUsed(log));
        await atna.stop();
      }
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else if (r.ok) console.log(`${log}: OK, ${r.records} records, chain intact${r.headFileChecked ? ', head file agrees' : ' (no head file)'}; head ${r.head.seq}:${r.head.sha256}`);
      else console.log(`${log}: BROKEN at record ${r.firstBroken!.line}: ${r.firstBroken!.problem}`);
      process.exitCode = r.ok ? 0 : 1;
    });

  withAuditSyslogOptions(withVerifyOptions(program.command('report')
    .description('write a self-contained HTML verification report: verdict, who captured, what was checked, tamper map')))
    .argument('<file>', 'DICOM file')
    .requiredOption('--out <file>', 'output .html')
    .option('--include-patient', "show Patient's Name and Patient ID (PHI) in the report")
    .action(async (file: string, o: VerifyOptionValues & AuditSyslogOptionValues & { out: string; includePatient?: boolean }) => {
      const [{ readFileSync }, { verifySettings }, { verifyObject }, { renderReportHtml }, { writeFileAtomic }] = await Promise.all([
        import('node:fs'), import('./verify-settings.js'), import('../ingest/verify.js'), import('../ingest/report.js'), import('../io/atomic.js'),
      ]);
      const settings = verifySettings(o);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'I/O error'}`);
      }
      const report = verifyObject(file, bytes, settings.trust, { policy: settings.policy, watermarkKey: settings.watermarkKey });
      const html = renderReportHtml(report, bytes, { includePatient: o.includePatient, trustAnchors: settings.trust.map((c) => c.commonName), watermarkChecked: !!settings.watermarkKey });
      writeFileAtomic(o.out, Buffer.from(html, 'utf8'));
      if (o.auditSyslog) {
        const audit = await (await import('../audit/service-audit.js')).startCommandAudit(o, 'radseal report');
        audit.accessed(file, report.verdict);
        await audit.stop();
      }
      console.log(`${file}: ${report.verdict} → ${o.out}`);
      process.exitCode = report.verdict === 'authentic' ? 0 : 1;
    });
}
