// The archive report page: self-contained HTML (no scripts, no external
// resources), every value from the archive escaped.
import { esc } from '../ingest/report.js';
import type { VerdictChange } from './store.js';
import { HTML_LIST_LIMIT, VERDICTS, type ArchiveSummary, type NonAuthentic, type VerdictCounts } from './report.js';

export interface ArchivePage {
  summary: ArchiveSummary;
  nonAuthentic: NonAuthentic[];
  nonAuthenticTotal: number;
  notVerified: Array<{ path: string; error: string }>;
  changes: { changed: VerdictChange[]; added: number; gone: string[]; goneCount: number } | null;
  lost: VerdictChange[];
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}td.n{text-align:right}th{background:#f3f3f3}
.headline{border:2px solid #b00020;background:#fdecee;padding:.8em 1em;margin:1em 0}.ok{border-color:#2e7d32;background:#edf7ee}
.v-authentic{color:#2e7d32}.v-tampered{color:#b00020;font-weight:600}.v-untrusted,.v-invalid{color:#b26a00}.v-unsigned{color:#555}
code{font-size:12px;word-break:break-all}ul.r{margin:0;padding-left:1.2em}`;

const verdict = (v: string) => `<span class="v-${esc(v)}">${esc(v)}</span>`;

function table(title: string, groups: Record<string, VerdictCounts>): string {
  const keys = Object.keys(groups).sort();
  if (!keys.length) return '';
  const rows = keys.map((k) => {
    const c = groups[k]!;
    const total = VERDICTS.reduce((a, v) => a + c[v], 0);
    return `<tr><td>${esc(k)}</td>${VERDICTS.map((v) => `<td class="n">${c[v]}</td>`).join('')}<td class="n">${total}</td></tr>`;
  }).join('\n');
  return `<h2>${esc(title)}</h2><table><tr><th></th>${VERDICTS.map((v) => `<th>${verdict(v)}</th>`).join('')}<th>total</th></tr>\n${rows}</table>`;
}

function changesSection(p: ArchivePage): string {
  const s = p.summary.since;
  if (!s || !p.changes) return '<p>No earlier finished audit of this source to compare with.</p>';
  const head = p.lost.length
    ? `<div class="headline"><strong>${p.lost.length} object(s) authentic in audit #${s.audit.id} are not authentic now.</strong></div>`
    : `<div class="headline ok">No object that was authentic in audit #${s.audit.id} has lost its authenticity.</div>`;
  const order = [...p.lost, ...p.changes.changed.filter((c) => !p.lost.includes(c))];
  const rows = order.map((c) => `<tr><td><code>${esc(c.sopInstanceUid)}</code></td><td>${verdict(c.before)} → ${verdict(c.after)}</td><td>${c.beforeSha256 === c.afterSha256 ? 'same file' : `file changed<br><code>${esc(c.beforeSha256.slice(0, 16))}… → ${esc(c.afterSha256.slice(0, 16))}…</code>`}</td><td><code>${esc(c.path)}</code></td><td><ul class="r">${c.reasons.slice(0, 6).map((r) => `<li>${esc(r)}</li>`).join('')}</ul></td></tr>`).join('\n');
  return `${head}<p>Since audit #${s.audit.id} (started ${esc(s.audit.startedAt)}): ${s.changed} changed, ${s.added} new, ${s.gone} no longer in the source.</p>
${order.length ? `<table><tr><th>SOP Instance UID</th><th>verdict</th><th>file</th><th>where</th><th>reasons now</th></tr>\n${rows}</table>` : ''}
${p.changes.gone.length ? `<details><summary>${s.gone} object(s) gone since audit #${s.audit.id}</summary><ul>${p.changes.gone.map((g) => `<li><code>${esc(g)}</code></li>`).join('')}</ul></details>` : ''}`;
}

export function renderArchiveHtml(p: ArchivePage): string {
  const { summary: s } = p;
  const t = s.totals;
  const cut = (n: number, shown: number) => (n > shown ? `<p>The first ${shown} of ${n} are listed; results.csv holds them all.</p>` : '');
  const list = p.nonAuthentic.map((o) => `<tr><td>${verdict(o.verdict)}</td><td><code>${esc(o.sopInstanceUid ?? '(none readable)')}</code></td><td>${esc(o.device ?? '')}</td><td><code>${esc(o.path)}</code></td><td><ul class="r">${o.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul></td><td><a href="${esc(o.reportFile)}">report</a></td></tr>`).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>radseal archive audit #${s.audit.id}</title><style>${STYLE}</style></head><body>
<h1>Archive audit #${s.audit.id}</h1>
<p>Source <code>${esc(s.audit.source)}</code> · started ${esc(s.audit.startedAt)} · ${s.audit.status === 'finished' ? `finished ${esc(s.audit.finishedAt)}` : `<strong>${esc(s.audit.status)}</strong> (not every object has been verified yet)`} · trust bundle SHA-256 <code>${esc(s.audit.trustSha256)}</code>${s.audit.watermarkRequired ? ' · site watermark required' : ''}</p>
<table><tr>${VERDICTS.map((v) => `<th>${verdict(v)}</th>`).join('')}<th>objects</th><th>not verified</th><th>bytes</th></tr>
<tr>${VERDICTS.map((v) => `<td class="n">${t[v]}</td>`).join('')}<td class="n">${t.objects}</td><td class="n">${t.notVerified}</td><td class="n">${t.bytes}</td></tr></table>
<h2>What changed since the previous audit</h2>
${changesSection(p)}
<h2>Objects that are not authentic (${p.nonAuthenticTotal})</h2>
${p.nonAuthentic.length ? `<table><tr><th>verdict</th><th>SOP Instance UID</th><th>device</th><th>where</th><th>reasons</th><th></th></tr>\n${list}</table>${cut(p.nonAuthenticTotal, HTML_LIST_LIMIT)}` : '<p>None.</p>'}
${table('By device', s.byDevice)}
${table('By year (Study Date)', s.byYear)}
${table('By modality', s.byModality)}
<h2>Not verified (${t.notVerified})</h2>
${p.notVerified.length ? `<table><tr><th>where</th><th>why</th></tr>${p.notVerified.map((n) => `<tr><td><code>${esc(n.path)}</code></td><td>${esc(n.error)}</td></tr>`).join('\n')}</table>${cut(t.notVerified, HTML_LIST_LIMIT)}` : '<p>None: every object the source named was read and verified.</p>'}
<p>Exports: <a href="results.csv">results.csv</a> · <a href="results.jsonl">results.jsonl</a> (with each full report) · <a href="summary.json">summary.json</a>. Device, year and modality come from each object's data set: for objects that are not authentic they are claims, not facts.</p>
</body></html>
`;
}
