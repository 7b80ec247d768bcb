// Counters a fuzz run keeps, mergeable across workers and batches.

export interface Example {
  seed: number;
  index: number;
  operators: string;
  verdict: string;
  detail: string;
  /** Where the input was saved, relative to the run's output folder. */
  file?: string;
}

export interface ClassCount {
  count: number;
  example: Example;
}

export interface FuzzStats {
  inputs: number;
  verdicts: Record<string, number>;
  /** Per operator: see countInput. */
  operators: Record<string, { inputs: number; verdicts: Record<string, number> }>;
  /** Exceptions out of the entry point (or, link: from the parser or a decoder, other than its documented error). */
  escapes: number;
  /** The verifier caught its own exception and said so ("internal error"): a crash it contained. */
  internalErrors: number;
  /** No answer within the time limit (the worker was stopped). */
  hangs: number;
  /** Changing inputs called authentic (DICOM), corrupted packets accepted (link). */
  failures: number;
  /** Authentic on a changing input that pydicom reads as the same data set: not counted as a failure. */
  excusedByPydicom: number;
  /** Neutral (genuine) inputs the verifier did not call authentic. */
  genuineNonAuthentic: number;
  /** Slowest single input, ms, and which one (index). */
  maxMs: number;
  slowestIndex: number;
  classes: { failure: Record<string, ClassCount>; escape: Record<string, ClassCount>; hang: Record<string, ClassCount>; genuine: Record<string, ClassCount>; internal: Record<string, ClassCount>; excused: Record<string, ClassCount> };
}

export function emptyStats(): FuzzStats {
  return {
    inputs: 0, verdicts: {}, operators: {}, escapes: 0, internalErrors: 0, hangs: 0, failures: 0, excusedByPydicom: 0, genuineNonAuthentic: 0, maxMs: 0, slowestIndex: -1,
    classes: { failure: {}, escape: {}, hang: {}, genuine: {}, internal: {}, excused: {} },
  };
}

const bump = (r: Record<string, number>, key: string, n = 1) => {
  r[key] = (Object.hasOwn(r, key) ? r[key]! : 0) + n;
};

/**
 * Counts one input under its operator: the operator itself when it ran alone, "op (stacked)"
 * when neutral operators ran before it (their own figures stay those of single runs).
 */
export function countInput(s: FuzzStats, operators: readonly string[], verdict: string, ms: number, index = -1): void {
  s.inputs++;
  bump(s.verdicts, verdict);
  const last = operators[operators.length - 1] ?? '(none)';
  const op = operators.length > 1 ? `${last} (stacked)` : last;
  const o = Object.hasOwn(s.operators, op) ? s.operators[op]! : (s.operators[op] = { inputs: 0, verdicts: {} });
  o.inputs++;
  bump(o.verdicts, verdict);
  if (ms > s.maxMs) {
    s.maxMs = ms;
    s.slowestIndex = index;
  }
}

/** Adds one occurrence of a class, keeping the first example; returns whether it is the class's first. */
export function countClass(r: Record<string, ClassCount>, key: string, example: Example): boolean {
  if (Object.hasOwn(r, key)) {
    r[key]!.count++;
    return false;
  }
  r[key] = { count: 1, example };
  return true;
}

function mergeClasses(into: Record<string, ClassCount>, from: Record<string, ClassCount>): void {
  for (const [k, v] of Object.entries(from)) {
    if (Object.hasOwn(into, k)) into[k]!.count += v.count;
    else into[k] = { count: v.count, example: v.example };
  }
}

export function mergeStats(into: FuzzStats, from: FuzzStats): void {
  into.inputs += from.inputs;
  for (const [k, v] of Object.entries(from.verdicts)) bump(into.verdicts, k, v);
  for (const [k, v] of Object.entries(from.operators)) {
    const o = Object.hasOwn(into.operators, k) ? into.operators[k]! : (into.operators[k] = { inputs: 0, verdicts: {} });
    o.inputs += v.inputs;
    for (const [vk, vv] of Object.entries(v.verdicts)) bump(o.verdicts, vk, vv);
  }
  into.escapes += from.escapes;
  into.internalErrors += from.internalErrors;
  into.hangs += from.hangs;
  into.failures += from.failures;
  into.excusedByPydicom += from.excusedByPydicom;
  into.genuineNonAuthentic += from.genuineNonAuthentic;
  if (from.maxMs > into.maxMs) {
    into.maxMs = from.maxMs;
    into.slowestIndex = from.slowestIndex;
  }
  for (const k of ['failure', 'escape', 'hang', 'genuine', 'internal', 'excused'] as const) mergeClasses(into.classes[k], from.classes[k]);
}

/** Offsets and sizes vary from input to input; a class is the same finding with the numbers blurred. */
export const blurNumbers = (s: string): string => s.replace(/0x[0-9a-f]+/gi, 'H').replace(/(?<![(,])\b\d+\b/g, 'N').slice(0, 160);

/** Tags kept as they are in a class name: the meta group, signature machinery, Pixel Data. */
const KEPT_GROUPS = new Set(['0002', '0400', '4FFE', 'FFFA', 'FFFC', '7FE0']);

/**
 * A finding's class: its description with the numbers blurred, locations reduced to the kind of
 * item (MAC Parameters, Digital Signatures, data set) and most tags to the kind of group they are
 * in (standard, private, overlay, or a low group that the MAC rules skip).
 */
export function classKey(s: string): string {
  const located = s
    .replace(/in \(4FFE,0001\)\[\d+\][^ ]*/g, 'in a MAC Parameters item')
    .replace(/in \(FFFA,FFFA\)\[\d+\][^ ]*/g, 'in a Digital Signatures item')
    .replace(/in \([0-9A-F]{4},[0-9A-F]{4}\)\[\d+\][^ ]*/g, 'in a data-set item');
  const tags = located.replace(/\(([0-9A-F]{4}),([0-9A-F]{4})\)/g, (whole, g: string) => {
    if (KEPT_GROUPS.has(g)) return whole;
    const n = parseInt(g, 16);
    if (n < 0x0008) return '(low group)'; // groups 0000-0006, which the MAC rules skip
    if (n % 2 === 1) return '(private)';
    if (n >= 0x6000 && n <= 0x601e) return '(overlay)';
    return '(standard)';
  });
  return blurNumbers(tags.replace(/VR \S+ -> \S+/, 'VR changed'));
}
