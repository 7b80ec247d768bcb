// Plain-text summary of a fuzz run, for the terminal and the run's folder.
import type { ClassCount, FuzzStats } from './stats.js';

const table = (r: Record<string, number>) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');

function classes(title: string, r: Record<string, ClassCount>, limit = 40): string[] {
  const list = Object.entries(r).sort((a, b) => b[1].count - a[1].count);
  if (!list.length) return [];
  const lines = [`${title} (${list.length} classes):`];
  for (const [key, c] of list.slice(0, limit)) {
    lines.push(`  ${c.count} × ${key}`);
    lines.push(`      e.g. seed ${c.example.seed} index ${c.example.index} [${c.example.operators}] -> ${c.example.verdict}${c.example.file ? ` (${c.example.file})` : ''}`);
  }
  if (list.length > limit) lines.push(`  ... ${list.length - limit} more classes`);
  return lines;
}

export function summarize(s: FuzzStats, seconds: number): string {
  const lines = [
    `inputs ${s.inputs} in ${seconds.toFixed(1)} s (${(s.inputs / seconds).toFixed(1)} inputs/s), slowest ${s.maxMs.toFixed(0)} ms (index ${s.slowestIndex})`,
    `verdicts: ${table(s.verdicts)}`,
    `escapes ${s.escapes}, internal errors ${s.internalErrors}, hangs ${s.hangs}, failures ${s.failures} (excused by pydicom ${s.excusedByPydicom}), genuine called non-authentic ${s.genuineNonAuthentic}`,
    'per operator:',
    ...Object.entries(s.operators).sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `  ${k.padEnd(28)} ${String(v.inputs).padStart(8)}  ${table(v.verdicts)}`),
    ...classes('FAILURES', s.classes.failure),
    ...classes('ESCAPES', s.classes.escape),
    ...classes('HANGS', s.classes.hang),
    ...classes('INTERNAL ERRORS (caught by the verifier)', s.classes.internal),
    ...classes('GENUINE CALLED NON-AUTHENTIC', s.classes.genuine),
    ...classes('EXCUSED (authentic on a changing input, pydicom reads the same data set)', s.classes.excused, 15),
  ];
  return lines.join('\n');
}
