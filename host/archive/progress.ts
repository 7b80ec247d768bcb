// Progress of a long audit, as a person or a program follows it: a one-line
// bar on a terminal (objects and bytes per second, ETA, verdicts so far), JSON
// Lines with --json, a status line now and then otherwise (a log file).
import type { AuditCounts } from './store.js';

export interface Progress {
  auditId: number;
  counts: AuditCounts;
  /** Objects the source holds, when known. */
  total: number | null;
  /** Done in this session (a resumed audit counts only what it did itself for the rates). */
  sessionItems: number;
  sessionBytes: number;
  seconds: number;
}

export interface ProgressOptions {
  json: boolean;
  /** Where the bar or status lines go (stderr); JSON Lines go to `out` (stdout). */
  err: NodeJS.WriteStream;
  out: NodeJS.WritableStream;
  /** Plain status lines this often when not on a terminal (default 30 s). */
  statusEveryMs?: number;
}

export function rates(p: Progress): { objectsPerSecond: number; mbPerSecond: number; etaSeconds: number | null } {
  const objectsPerSecond = p.seconds > 0 ? p.sessionItems / p.seconds : 0;
  const mbPerSecond = p.seconds > 0 ? p.sessionBytes / 1e6 / p.seconds : 0;
  const left = p.total === null ? null : Math.max(0, p.total - p.counts.items);
  return { objectsPerSecond, mbPerSecond, etaSeconds: left === null || objectsPerSecond === 0 ? null : left / objectsPerSecond };
}

const hms = (s: number | null) => {
  if (s === null || !Number.isFinite(s)) return '--:--:--';
  const t = Math.round(s);
  return `${Math.floor(t / 3600)}:${String(Math.floor(t / 60) % 60).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};

export function describe(p: Progress): string {
  const r = rates(p);
  const v = p.counts.verdicts;
  const verdicts = (['authentic', 'tampered', 'untrusted', 'unsigned', 'invalid'] as const).map((k) => `${k} ${v[k] ?? 0}`).join(' · ');
  const of = p.total === null ? '' : `/${p.total} (${((100 * p.counts.items) / Math.max(1, p.total)).toFixed(1)}%)`;
  return `${p.counts.items}${of} · ${r.objectsPerSecond.toFixed(1)} obj/s · ${r.mbPerSecond.toFixed(1)} MB/s · ETA ${hms(r.etaSeconds)} · ${verdicts} · not verified ${p.counts.errors}`;
}

export function progressReporter(o: ProgressOptions): { update(p: Progress): void; end(p: Progress, outcome: string): void } {
  const tty = !o.json && !!o.err.isTTY;
  const every = o.json ? 1000 : tty ? 250 : o.statusEveryMs ?? 30_000;
  let last = 0;
  const bar = (p: Progress) => {
    const width = 24;
    const frac = p.total ? Math.min(1, p.counts.items / p.total) : 0;
    const filled = Math.round(frac * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${describe(p)}`;
    o.err.write(`\r${line.slice(0, Math.max(40, (o.err.columns || 160) - 1))}\u001b[K`);
  };
  const json = (event: string, p: Progress, extra: Record<string, unknown> = {}) => {
    const r = rates(p);
    o.out.write(JSON.stringify({ event, audit: p.auditId, done: p.counts.items, total: p.total, verdicts: p.counts.verdicts, notVerified: p.counts.errors, bytes: p.counts.bytes,
      objectsPerSecond: +r.objectsPerSecond.toFixed(2), mbPerSecond: +r.mbPerSecond.toFixed(2), etaSeconds: r.etaSeconds === null ? null : Math.round(r.etaSeconds), ...extra }) + '\n');
  };
  return {
    update(p) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      if (o.json) json('progress', p);
      else if (tty) bar(p);
      else o.err.write(`${new Date().toISOString()} audit #${p.auditId}: ${describe(p)}\n`);
    },
    end(p, outcome) {
      if (o.json) json(outcome, p);
      else {
        if (tty) bar(p);
        o.err.write(`${tty ? '\n' : ''}audit #${p.auditId} ${outcome}: ${describe(p)}\n`);
      }
    },
  };
}
