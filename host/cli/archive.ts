// radseal archive-audit | archive-worker | archive-report: verify a whole
// archive (folder tree, Orthanc, DICOMweb), on this machine or on many through
// a job queue, and report on it. Argument parsing and wiring only; the work is
// in host/archive/, loaded when a command runs.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadOnUse } from '../io/load-on-use.js';
import { withVerifyOptions, type VerifyOptionValues } from './verify-options.js';

const count = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got "${v}"`);
  return n;
};

/** PACS credentials from the named environment variable ("user:password"), never from argv. */
function authFromEnv(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = process.env[name];
  if (v === undefined) throw new Error(`environment variable ${name} (PACS credentials, user:password) is not set`);
  return v;
}

// node:crypto loads when a key is named, not with the option definitions (radseal --help).
const crypto = loadOnUse<typeof import('node:crypto')>(import.meta.url, 'node:crypto');
const keyId = (key: Uint8Array | undefined) => (key ? crypto().createHash('sha256').update(key).digest('hex') : null);

/** First Ctrl-C (or SIGTERM) stops taking new objects and lets those under way finish; a second one quits. */
function interruptible(what: string): { signal: AbortSignal; dispose(): void } {
  const ctl = new AbortController();
  const stop = () => {
    if (ctl.signal.aborted) process.exit(130);
    process.stderr.write(`\n${what}: stopping after the objects under way (again to quit now; nothing recorded is lost)\n`);
    ctl.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { signal: ctl.signal, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); } };
}

export function register(program: Command): void {
  withVerifyOptions(program.command('archive-audit')
    .description('verify a whole archive: a folder tree of DICOM files, Orthanc (http://… or orthanc+http://…) or a DICOMweb server (dicomweb+http://…/dicom-web); resumable')
    .argument('<source>', 'folder, Orthanc URL, or dicomweb+URL'))
    .requiredOption('--results <store>', 'results: an SQLite file (this machine), or postgres://… (needed with --queue)')
    .option('--queue <redis-url>', 'distributed: enqueue batches on this Redis (BullMQ) for `radseal archive-worker`s and follow their progress')
    .option('--workers <n>', 'verify threads on this machine (default: all cores)', count('--workers'))
    .option('--batch <n>', 'with --queue: objects per batch at most (a batch never spans two series)', count('--batch'), 200)
    .option('--new-audit', 'start a new audit even when the last one of this source is unfinished (default: resume it)')
    .option('--pacs-auth-env <var>', 'environment variable holding the PACS credentials, user:password (HTTP Basic)')
    .option('--json', 'progress and the outcome as JSON Lines on stdout')
    .action(async (spec: string, o: VerifyOptionValues & { results: string; queue?: string; workers?: number; batch: number; newAudit?: boolean; pacsAuthEnv?: string; json?: boolean }) => {
      const { verifySettings } = await import('./verify-settings.js');
      const settings = verifySettings(o);
      const auth = authFromEnv(o.pacsAuthEnv);
      if (o.queue && !/^postgres(ql)?:\/\//i.test(o.results)) throw new Error('--queue needs a results store every worker reaches: --results postgres://…');
      const { openSource } = await import('../archive/sources.js');
      const { openResultsStore, redactUrl } = await import('../archive/store.js');
      const { progressReporter, describe } = await import('../archive/progress.js');
      const source = openSource(spec, auth);
      const store = await openResultsStore(o.results);
      const stop = interruptible('archive-audit');
      try {
        const { audit, resumed } = await store.openAudit({
          source: source.name, trustPem: readFileSync(o.trust), policy: settings.policy,
          revocation: settings.trust.revocation ?? {}, watermarkKeyId: keyId(settings.watermarkKey),
        }, { fresh: o.newAudit });
        const reporter = progressReporter({ json: !!o.json, err: process.stderr, out: process.stdout });
        // On a terminal a note first clears the progress bar's line, which the next update redraws.
        const note = (m: string) => (o.json ? process.stdout.write(JSON.stringify({ event: 'note', message: m }) + '\n') : process.stderr.write(`${process.stderr.isTTY ? '\r\u001b[K' : ''}${m}\n`));
        const where = o.queue ? `queue ${redactUrl(o.queue)}` : `${o.workers ?? availableParallelism()} threads`;
        if (!o.json) process.stderr.write(`${resumed ? 'resuming' : 'starting'} audit #${audit.id} of ${source.name} (${where}; results ${redactUrl(o.results)})\n`);
        else process.stdout.write(JSON.stringify({ event: resumed ? 'resumed' : 'started', audit: audit.id, source: source.name }) + '\n');
        const pool = { workers: o.workers, watermarkKey: settings.watermarkKey };
        let outcome;
        let failed: Array<{ id: string; reason: string }> = [];
        if (o.queue) {
          const { openQueue } = await import('../archive/queue.js');
          const { runProducer } = await import('../archive/distributed.js');
          const queue = await openQueue(o.queue);
          try {
            outcome = await runProducer({ source, store, audit, queue, batchSize: o.batch, signal: stop.signal, onProgress: reporter.update, note });
            failed = outcome.failedBatches;
          } finally {
            await queue.close();
          }
        } else {
          const { runEmbedded } = await import('../archive/embedded.js');
          outcome = await runEmbedded({ source, store, audit, pool, auth, signal: stop.signal, onProgress: reporter.update, note });
        }
        const state = outcome.finished ? 'finished' : failed.length ? 'failed' : 'interrupted';
        reporter.end(outcome.progress, state);
        if (o.json) process.stdout.write(JSON.stringify({ event: 'summary', audit: audit.id, state, processed: outcome.processed, alreadyRecorded: outcome.alreadyRecorded, failedBatches: failed }) + '\n');
        else {
          for (const f of failed) process.stderr.write(`batch ${f.id} failed: ${f.reason}\n`);
          process.stderr.write(outcome.finished
            ? `audit #${audit.id} finished (${outcome.processed} verified now, ${outcome.alreadyRecorded} recorded before): ${describe(outcome.progress)}\nreport: radseal archive-report --results ${redactUrl(o.results)} --out DIR\n`
            : `audit #${audit.id} not finished (${outcome.processed} recorded now): run the same command again to resume\n`);
        }
        process.exitCode = outcome.finished ? 0 : failed.length ? 1 : 130;
      } finally {
        stop.dispose();
        await store.close();
      }
    });

  program.command('archive-worker')
    .description('verify batches of a distributed archive audit (radseal archive-audit --queue) until stopped; start as many as you like, on any machines')
    .requiredOption('--queue <redis-url>', 'the Redis (BullMQ) the audit enqueues on')
    .requiredOption('--results <postgres-url>', 'the PostgreSQL results store of the audit')
    .option('--wm-key <file>', 'site watermark key, when the audit requires the watermark (the audit says)')
    .option('--workers <n>', 'verify threads (default: all cores)', count('--workers'))
    .option('--pacs-auth-env <var>', 'environment variable holding the PACS credentials, user:password')
    .addOption(new Option('--stall-seconds <s>', 'a batch whose worker has not renewed its lock for this long is given to another').argParser(count('--stall-seconds')).default(30))
    .action(async (o: { queue: string; results: string; wmKey?: string; workers?: number; pacsAuthEnv?: string; stallSeconds: number }) => {
      const { loadWatermarkKey } = await import('../keys/watermark-key.js');
      const watermarkKey = o.wmKey ? loadWatermarkKey(o.wmKey) : undefined;
      const auth = authFromEnv(o.pacsAuthEnv);
      const { openResultsStore, redactUrl } = await import('../archive/store.js');
      const { openQueue } = await import('../archive/queue.js');
      const { runArchiveWorker } = await import('../archive/distributed.js');
      const store = await openResultsStore(o.results);
      const queue = await openQueue(o.queue).catch(async (err) => { await store.close(); throw err; });
      const log = (m: string) => console.log(`${new Date().toISOString()} ${m}`);
      const worker = await runArchiveWorker({ queue, store, pool: { workers: o.workers, watermarkKey }, watermarkKeyId: keyId(watermarkKey), auth, stallMs: o.stallSeconds * 1000, log });
      log(`archive-worker: working batches from ${redactUrl(o.queue)} (${o.workers ?? availableParallelism()} threads, results ${redactUrl(o.results)})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          log('archive-worker: stopping after the batch under way');
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await worker.close();
      await queue.close();
      await store.close();
    });

  program.command('archive-report')
    .description('write an archive audit report: HTML summary (per device, year, modality; every non-authentic object with its reasons and report), CSV and JSON exports, and what changed since the previous audit')
    .requiredOption('--results <store>', 'the results store (SQLite file or postgres://…)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--audit <n>', 'the audit to report (default: the newest)', count('--audit'))
    .option('--against <n>', 'compare with this audit (default: the previous finished audit of the same source)', count('--against'))
    .action(async (o: { results: string; out: string; audit?: number; against?: number }) => {
      const { openResultsStore } = await import('../archive/store.js');
      const { writeArchiveReport } = await import('../archive/report.js');
      const store = await openResultsStore(o.results);
      try {
        const r = await writeArchiveReport(store, o.out, { auditId: o.audit, againstId: o.against });
        console.log(r.summaryLine);
      } finally {
        await store.close();
      }
    });
}
