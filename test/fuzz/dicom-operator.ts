// The shape of a DICOM mutation operator.
import type { Part10Tokens } from './part10-tokens.js';
import type { Rng } from './prng.js';

/**
 * neutral: the standard's MAC rules make the edit irrelevant, so a verifier should still say
 * authentic (undefined vs defined lengths, group lengths, trailing padding, meta elements that
 * do not contradict the data set, the preamble). changing: it must never be authentic.
 */
export type MutationClass = 'neutral' | 'changing';

export interface Applied {
  bytes: Uint8Array;
  /** What exactly was done, for the failure record. */
  detail: string;
}

export interface Operator {
  name: string;
  kind: MutationClass;
  /**
   * Changing by construction (a duplicate, an out-of-order element, trailing bytes, a meta
   * header that contradicts the data set): a parser that keys elements by tag or sorts them
   * cannot tell the copy from the original, so its "equal" does not excuse an authentic verdict.
   */
  structural: boolean;
  /** The mutated file, or null when the operator has nothing to act on in this file. */
  apply(t: Part10Tokens, rng: Rng): Applied | null;
}
