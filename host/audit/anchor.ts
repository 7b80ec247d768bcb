// Anchoring the audit chain off the machine. The chain (host/ingest/audit.ts) catches any edit
// short of a rewrite of the whole log and its head file; an anchor, a copy of the head
// (seq, SHA-256) kept where the writer of the log cannot reach, catches that rewrite too.
//
// Every N records or M minutes (whichever first, when the head moved) the head goes
//  - to the Audit Record Repository as a syslog message (MSGID RADSEAL-HEAD, structured data
//    radseal-head@32473 log=<absolute path> seq= sha256=), through the same durable spool as the ATNA messages;
//  - to an RFC 3161 time-stamping authority, when one is configured: the token certifies the
//    head statement (below) at a time the station cannot set.
// Locally, LOG.anchors/ records what was sent: sent.jsonl (one line per head sent) and, per
// time-stamp, tsa-SEQ.json (the statement) beside tsa-SEQ.tst (the token, DER). A rewrite that
// leaves these in place is caught by them; one that also rewrites them is caught by the
// repository's copy (`radseal audit verify --anchors --anchors-from FILE`) or by the tokens,
// whose statements the TSA signed.
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic.js';
import { verifyTimestamp } from '../keys/timestamp.js';
import { verifyAuditLog, type AuditLog, type ChainCheck } from '../ingest/audit.js';
import type { AuditSink } from './emit.js';
import { makeDirs } from '../io/dirs.js';

/** The bytes a time-stamp certifies for a head. */
export function headStatement(seq: number, sha256: string): Buffer {
  return Buffer.from(`radseal-audit-head v1 seq=${seq} sha256=${sha256.toLowerCase()}`, 'utf8');
}

export const anchorsDir = (logPath: string) => `${logPath}.anchors`;

export interface AnchoringOptions {
  sink?: AuditSink;
  /** Anchor after this many new records (default 1000). */
  everyRecords?: number;
  /** ...or after this many minutes with new records (default 5). */
  everyMinutes?: number;
  /** RFC 3161 TSA: asks for a token over the head statement (transport injected: host/net/tsa-client.ts). */
  timestamp?: (statement: Uint8Array) => Promise<Uint8Array>;
  log?: (m: string) => void;
}

/** Watches one AuditLog and anchors its head as configured. */
export class HeadAnchoring {
  private anchoredSeq: number;
  private timer: NodeJS.Timeout | null = null;
  private tsaBusy: Promise<void> | null = null;
  private readonly dir: string;
  private readonly everyRecords: number;

  constructor(private readonly audit: AuditLog, private readonly o: AnchoringOptions) {
    this.dir = anchorsDir(audit.path);
    makeDirs(this.dir, 0o750);
    this.everyRecords = Math.max(1, o.everyRecords ?? 1000);
    this.anchoredSeq = lastSentSeq(this.dir);
    audit.onAppend = (head) => {
      if (head.seq - this.anchoredSeq >= this.everyRecords) this.anchor();
    };
    const minutes = o.everyMinutes ?? 5;
    if (minutes > 0) {
      this.timer = setInterval(() => this.anchor(), minutes * 60_000);
      this.timer.unref();
    }
    // A start anchors the head as found: whatever happened while radseal was stopped shows against it.
    this.anchor();
  }

  /** Anchors the current head now (if it moved since the last anchor). */
  anchor(): void {
    const head = this.audit.head;
    if (head.seq === 0 || head.seq === this.anchoredSeq) return;
    this.anchoredSeq = head.seq;
    const spoolSeq = this.o.sink?.anchorHead({ log: resolve(this.audit.path), seq: head.seq, sha256: head.sha256 }) ?? null;
    appendFileSync(join(this.dir, 'sent.jsonl'), JSON.stringify({ seq: head.seq, sha256: head.sha256, time: new Date().toISOString(), spool: spoolSeq }) + '\n', { mode: 0o640 });
    if (this.o.timestamp && !this.tsaBusy) {
      const statement = headStatement(head.seq, head.sha256);
      this.tsaBusy = this.o.timestamp(statement)
        .then((token) => {
          writeFileAtomic(join(this.dir, `tsa-${head.seq}.tst`), token, { mode: 0o640 });
          writeFileAtomic(join(this.dir, `tsa-${head.seq}.json`), Buffer.from(JSON.stringify({ seq: head.seq, sha256: head.sha256 }) + '\n'), { mode: 0o640 });
        })
        .catch((e) => this.o.log?.(`audit: no time-stamp for head ${head.seq} (${(e as Error).message}); the next anchor tries again`))
        .finally(() => {
          this.tsaBusy = null;
        });
    }
  }

  /** Anchors the final head and waits for a time-stamp in flight. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.audit.onAppend = null;
    this.anchor();
    await this.tsaBusy;
  }
}

function lastSentSeq(dir: string): number {
  const p = join(dir, 'sent.jsonl');
  if (!existsSync(p)) return 0;
  const lines = readFileSync(p, 'utf8').trim().split('\n').filter(Boolean);
  try {
    return lines.length ? (JSON.parse(lines[lines.length - 1]!) as { seq: number }).seq : 0;
  } catch {
    return 0;
  }
}

export interface Anchor {
  seq: number;
  sha256: string;
  from: string;
}

export interface AnchorCheck extends ChainCheck {
  anchors: number;
  /** Where anchors came from, and how many each gave. */
  sources: Array<{ from: string; anchors: number }>;
  /** Problems with the anchors themselves (a time-stamp that does not verify). */
  anchorProblems: string[];
}

/** Head anchors in a syslog file received by the repository (any line holding radseal-head@…). */
export function anchorsInSyslogFile(path: string, log: string | null): Anchor[] {
  const out: Anchor[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /\[radseal-head@\d+ log="((?:[^"\\]|\\.)*)" seq="(\d+)" sha256="([0-9a-f]{64})"\]/.exec(line);
    if (!m) continue;
    if (log !== null && m[1]!.replace(/\\(.)/g, '$1') !== log) continue;
    out.push({ seq: Number(m[2]), sha256: m[3]!, from: `${path}` });
  }
  return out;
}

/**
 * Checks a log against every anchor found: LOG.anchors/sent.jsonl, the time-stamp tokens in
 * LOG.anchors/ (each must verify against `tsaTrust` and certify its statement), and the
 * repository's copies in `syslogFiles` (matched by the log name the service used, `logName`).
 * No anchor at all is a failure: the caller asked for anchors.
 */
export function verifyAnchors(logPath: string, o: { syslogFiles?: string[]; logName?: string; tsaTrust?: X509Certificate[]; extra?: { seq: number; sha256: string } } = {}): AnchorCheck {
  const dir = anchorsDir(logPath);
  const anchors: Anchor[] = o.extra ? [{ ...o.extra, from: '--anchor' }] : [];
  const sources: AnchorCheck['sources'] = [];
  const anchorProblems: string[] = [];
  const sent = join(dir, 'sent.jsonl');
  if (existsSync(sent)) {
    const before = anchors.length;
    for (const line of readFileSync(sent, 'utf8').split('\n').filter(Boolean)) {
      try {
        const a = JSON.parse(line) as { seq: number; sha256: string };
        anchors.push({ seq: a.seq, sha256: a.sha256, from: sent });
      } catch {
        anchorProblems.push(`${sent}: a line is not JSON (edited)`);
      }
    }
    sources.push({ from: sent, anchors: anchors.length - before });
  }
  if (existsSync(dir)) {
    let tokens = 0;
    for (const name of readdirSync(dir).filter((n) => /^tsa-\d+\.tst$/.test(n)).sort()) {
      const tokenPath = join(dir, name);
      let statement: { seq: number; sha256: string };
      try {
        statement = JSON.parse(readFileSync(tokenPath.replace(/\.tst$/, '.json'), 'utf8')) as typeof statement;
      } catch {
        anchorProblems.push(`${tokenPath}: its statement ${name.replace(/\.tst$/, '.json')} is missing or not JSON`);
        continue;
      }
      const check = verifyTimestamp(readFileSync(tokenPath), headStatement(statement.seq, statement.sha256), o.tsaTrust ?? []);
      const problems = o.tsaTrust ? check.problems : check.problems.filter((p) => !/is not trusted/.test(p));
      if (problems.length) {
        anchorProblems.push(`${tokenPath}: ${problems.join('; ')}`);
        continue;
      }
      tokens++;
      anchors.push({ seq: statement.seq, sha256: statement.sha256, from: `${tokenPath}, time-stamped ${check.time?.toISOString() ?? '?'}${o.tsaTrust ? '' : ' (TSA signature not checked: no --tsa-trust)'}` });
    }
    if (tokens) sources.push({ from: `${dir}/tsa-*.tst`, anchors: tokens });
  }
  for (const f of o.syslogFiles ?? []) {
    const found = anchorsInSyslogFile(f, resolve(o.logName ?? logPath));
    anchors.push(...found);
    sources.push({ from: f, anchors: found.length });
  }
  const chain = verifyAuditLog(logPath, { anchors });
  const result: AnchorCheck = { ...chain, anchors: anchors.length, sources, anchorProblems };
  if (chain.ok && anchors.length === 0) {
    return { ...result, ok: false, firstBroken: { line: chain.records, problem: `no anchors found for ${logPath} (${dir}/ and the files given): nothing proves the log was not rewritten` } };
  }
  if (chain.ok && anchorProblems.length) {
    return { ...result, ok: false, firstBroken: { line: chain.records, problem: `anchors damaged: ${anchorProblems[0]}` } };
  }
  return result;
}
