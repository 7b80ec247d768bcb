// Mutations of whole elements and items: removal, and items copied, dropped
// or swapped inside their sequence.
import { tagText } from './part10-tokens.js';
import { concat, replaceBytes } from './byte-edits.js';
import { elements, items, where, DIGITAL_SIGNATURES_SEQUENCE, MAC_PARAMETERS_SEQUENCE, type LocatedItem } from './dicom-structure.js';
import type { Operator } from './dicom-operator.js';
import type { Part10Tokens, ElementToken } from './part10-tokens.js';

const EMPTY = new Uint8Array(0);
/** Elements the MAC rules leave out and that carry no meaning: removing them changes nothing. */
const isPaddingOrGroupLength = (e: ElementToken): boolean => e.tag === 0xfffcfffc || (e.tag & 0xffff) === 0;
/** Signature machinery: its items are matched by MAC ID Number, not by position. */
const inSignatureSequence = (i: LocatedItem): boolean => i.sequence.tag === MAC_PARAMETERS_SEQUENCE || i.sequence.tag === DIGITAL_SIGNATURES_SEQUENCE;

export const removeElement: Operator = {
  name: 'remove-element', kind: 'changing', structural: false,
  apply(t, rng) {
    const list = elements(t).filter((l) => !isPaddingOrGroupLength(l.element));
    if (!list.length) return null;
    const { element, slot } = rng.pick(list);
    return { bytes: replaceBytes(t, slot.chain, element.start, element.end, EMPTY), detail: `${tagText(element.tag)} ${where(slot)} removed` };
  },
};

export const removePadding: Operator = {
  name: 'remove-padding-or-group-length', kind: 'neutral', structural: false,
  apply(t, rng) {
    const list = elements(t).filter((l) => isPaddingOrGroupLength(l.element));
    if (!list.length) return null;
    const { element, slot } = rng.pick(list);
    return { bytes: replaceBytes(t, slot.chain, element.start, element.end, EMPTY), detail: `${tagText(element.tag)} ${where(slot)} removed` };
  },
};

export const duplicateItem: Operator = {
  name: 'duplicate-item', kind: 'changing', structural: false,
  apply(t, rng) {
    const list = items(t);
    if (!list.length) return null;
    const { item, chain, path } = rng.pick(list);
    const copy = t.bytes.slice(item.start, item.end);
    return { bytes: replaceBytes(t, chain, item.end, item.end, copy), detail: `item ${path} repeated` };
  },
};

export const removeItem: Operator = {
  name: 'remove-item', kind: 'changing', structural: false,
  apply(t, rng) {
    const list = items(t);
    if (!list.length) return null;
    const { item, chain, path } = rng.pick(list);
    return { bytes: replaceBytes(t, chain, item.start, item.end, EMPTY), detail: `item ${path} removed` };
  },
};

/** Swaps two items of one sequence; the caller says which sequences qualify. */
function swapItems(t: Part10Tokens, candidates: LocatedItem[], pickIndex: (n: number) => number): { bytes: Uint8Array; detail: string } | null {
  const bySequence = new Map<number, LocatedItem[]>();
  for (const c of candidates) bySequence.set(c.sequence.start, [...(bySequence.get(c.sequence.start) ?? []), c]);
  const groups = [...bySequence.values()].filter((g) => g.length >= 2);
  if (!groups.length) return null;
  const group = groups[pickIndex(groups.length)]!;
  const i = pickIndex(group.length - 1);
  const a = group[i]!.item, b = group[i + 1]!.item;
  const out = t.bytes.slice();
  out.set(concat(t.bytes.subarray(b.start, b.end), t.bytes.subarray(a.start, a.end)), a.start);
  if (out.every((x, k) => x === t.bytes[k])) return null;
  return { bytes: out, detail: `items ${group[i]!.path} and ${group[i + 1]!.path} swapped` };
}

export const reorderItems: Operator = {
  name: 'reorder-items', kind: 'changing', structural: false,
  apply: (t, rng) => swapItems(t, items(t).filter((i) => !inSignatureSequence(i)), (n) => rng.int(n)),
};

export const reorderSignatureItems: Operator = {
  name: 'reorder-signature-items', kind: 'neutral', structural: false,
  apply: (t, rng) => swapItems(t, items(t).filter(inSignatureSequence), (n) => rng.int(n)),
};
