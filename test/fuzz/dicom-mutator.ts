// Structure-aware mutation of sealed Part 10 files. Every input is a pure
// function of (seed, index): the base object, the operators and their
// choices all come from one PRNG seeded with both.
import { tokenizePart10, TokenizeError } from './part10-tokens.js';
import { rngFor, type Rng } from './prng.js';
import type { MutationClass, Operator } from './dicom-operator.js';
import { NEUTRAL_OPERATORS } from './dicom-neutral-ops.js';
import { CHANGING_OPERATORS as CHANGING_VALUE_OPERATORS } from './dicom-changing-ops.js';
import { duplicateItem, removeElement, removeItem, removePadding, reorderItems, reorderSignatureItems } from './dicom-sequence-ops.js';
import { compressRle, deflate, reencodeImplicitVr } from './dicom-reencode-ops.js';
import { deepNesting, manyElements, repeatItem } from './dicom-amplify-ops.js';

export type { MutationClass, Operator } from './dicom-operator.js';
const NEUTRAL: Operator[] = [...NEUTRAL_OPERATORS, removePadding, reorderSignatureItems];
const CHANGING: Operator[] = [...CHANGING_VALUE_OPERATORS, removeElement, duplicateItem, removeItem, reorderItems, reencodeImplicitVr, deflate, compressRle];
/** Expensive inputs (megabytes, thousands of items): picked for 1 in 50 inputs. */
const AMPLIFY: Operator[] = [repeatItem, deepNesting, manyElements];
export const OPERATORS: Operator[] = [...NEUTRAL, ...CHANGING, ...AMPLIFY];

export interface MutationBase {
  name: string;
  bytes: Uint8Array;
  /** How often this base is picked relative to the others (default 1). */
  weight?: number;
}

export interface Mutation {
  seed: number;
  index: number;
  base: string;
  /** Operator names in the order applied. */
  operators: string[];
  details: string[];
  kind: MutationClass;
  structural: boolean;
  bytes: Uint8Array;
}

function pickBase(bases: readonly MutationBase[], rng: Rng): MutationBase {
  const total = bases.reduce((n, b) => n + (b.weight ?? 1), 0);
  let x = rng.next() * total;
  for (const b of bases) {
    x -= b.weight ?? 1;
    if (x < 0) return b;
  }
  return bases[bases.length - 1]!;
}

/** Neutral operators are picked as often as changing ones, so "genuine" inputs are well covered. */
function pickOperator(rng: Rng, only?: MutationClass): Operator {
  const kind = only ?? (rng.chance(0.35) ? 'neutral' : 'changing');
  if (kind === 'changing' && rng.chance(0.03)) return rng.pick(AMPLIFY);
  return rng.pick(kind === 'neutral' ? NEUTRAL : CHANGING);
}

/**
 * One mutated input. Three in four apply a single operator; the rest stack
 * one or two neutral operators before a last one of either kind (e.g. an
 * undefined-length item, then a duplicate inside it).
 */
export function mutate(bases: readonly MutationBase[], seed: number, index: number): Mutation {
  const rng = rngFor(seed, index);
  const base = pickBase(bases, rng);
  const plan: Array<MutationClass | undefined> = rng.chance(0.75) ? [undefined] : [...Array(rng.range(1, 2)).fill('neutral'), undefined];
  const m: Mutation = { seed, index, base: base.name, operators: [], details: [], kind: 'neutral', structural: false, bytes: base.bytes };
  for (const only of plan) {
    let tokens;
    try {
      tokens = tokenizePart10(m.bytes);
    } catch (err) {
      if (err instanceof TokenizeError) break;
      throw err;
    }
    for (let attempt = 0; attempt < 8; attempt++) {
      const op = pickOperator(rng, only);
      const applied = op.apply(tokens, rng);
      if (!applied) continue;
      m.bytes = applied.bytes;
      m.operators.push(op.name);
      m.details.push(applied.detail);
      if (op.kind === 'changing') m.kind = 'changing';
      if (op.structural) m.structural = true;
      break;
    }
  }
  return m;
}

export const operatorLabel = (m: Mutation): string => m.operators.join('+') || '(none)';
