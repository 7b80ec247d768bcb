// Where in a tokenized file an operator can act: the element lists (the top
// level and every item) with the containers around them, and every item.
import { type ElementToken, type ItemToken, type Part10Tokens, tagText } from './part10-tokens.js';
import type { Container } from './byte-edits.js';

export const DIGITAL_SIGNATURES_SEQUENCE = 0xfffafffa;
export const MAC_PARAMETERS_SEQUENCE = 0x4ffe0001;

/** One element list: the top-level data set or the contents of one item. */
export interface Slot {
  elements: ElementToken[];
  /** Containers around the list, outermost first (empty at the top level). */
  chain: Container[];
  /** Where the list's contents start and end (before an item delimiter, if any). */
  contentStart: number;
  contentEnd: number;
  /** Readable location, e.g. "top" or "(0008,1072)[0]>(0040,1101)[0]". */
  path: string;
}

export interface LocatedItem {
  item: ItemToken;
  sequence: ElementToken;
  /** Containers above the item (its sequence last). */
  chain: Container[];
  path: string;
}

export function slots(t: Part10Tokens): Slot[] {
  const out: Slot[] = [{ elements: t.dataSet, chain: [], contentStart: t.dataSetStart, contentEnd: t.bytes.length, path: 'top' }];
  for (const it of items(t)) {
    out.push({ elements: it.item.elements, chain: [...it.chain, it.item], contentStart: it.item.valueStart, contentEnd: it.item.valueEnd, path: it.path });
  }
  return out;
}

export function items(t: Part10Tokens): LocatedItem[] {
  const out: LocatedItem[] = [];
  const walk = (list: ElementToken[], chain: Container[], path: string) => {
    for (const el of list) {
      (el.items ?? []).forEach((item, i) => {
        const itemPath = `${path === 'top' ? '' : path + '>'}${tagText(el.tag)}[${i}]`;
        out.push({ item, sequence: el, chain: [...chain, el], path: itemPath });
        walk(item.elements, [...chain, el, item], itemPath);
      });
    }
  };
  walk(t.dataSet, [], 'top');
  return out;
}

/** Every element with the containers around it and the list it sits in. */
export interface LocatedElement {
  element: ElementToken;
  slot: Slot;
  index: number;
}

export function elements(t: Part10Tokens): LocatedElement[] {
  return slots(t).flatMap((slot) => slot.elements.map((element, index) => ({ element, slot, index })));
}

/** Index at which `tag` goes to keep ascending tag order (after any equal tag). */
export function orderedIndex(list: readonly ElementToken[], tag: number): number {
  const i = list.findIndex((e) => e.tag > tag);
  return i < 0 ? list.length : i;
}

/** Byte offset of position `index` in a slot (before element `index`, or the end of the list). */
export function offsetAt(slot: Slot, index: number): number {
  return index < slot.elements.length ? slot.elements[index]!.start : slot.contentEnd;
}

export const where = (slot: Slot): string => (slot.path === 'top' ? 'top level' : `in ${slot.path}`);
