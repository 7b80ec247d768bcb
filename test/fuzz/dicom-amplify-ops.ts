// Mutations that make the verifier work hard: an item repeated thousands of
// times, sequences nested thousands deep, tens of thousands of elements.
// They are there for the hang and crash oracles (and must not be authentic).
import { concat, encodeElement, replaceBytes, setU32, stringValue } from './byte-edits.js';
import { items, slots, orderedIndex, offsetAt, where } from './dicom-structure.js';
import type { Operator } from './dicom-operator.js';

export const repeatItem: Operator = {
  name: 'repeat-item-many', kind: 'changing', structural: false,
  apply(t, rng) {
    const list = items(t);
    if (!list.length) return null;
    const { item, chain, path } = rng.pick(list);
    const copies = rng.pick([100, 1000, 5000]);
    const one = t.bytes.subarray(item.start, item.end);
    const many = new Uint8Array(one.length * copies);
    for (let k = 0; k < copies; k++) many.set(one, k * one.length);
    return { bytes: replaceBytes(t, chain, item.end, item.end, many), detail: `item ${path} repeated ${copies} times` };
  },
};

/** Sequences nested `depth` deep (each one item holding the next), innermost holding one element. */
function nested(tag: number, depth: number, inner: Uint8Array): Uint8Array {
  let body = inner;
  for (let d = 0; d < depth; d++) {
    const item = new Uint8Array(8 + body.length);
    item.set([0xfe, 0xff, 0x00, 0xe0]);
    setU32(item, 4, body.length);
    item.set(body, 8);
    body = encodeElement(tag, 'SQ', item);
  }
  return body;
}

export const deepNesting: Operator = {
  name: 'deep-nesting', kind: 'changing', structural: false,
  apply(t, rng) {
    const tag = rng.pick([0x00400555, 0x00089215, 0x00091099]);
    const depth = rng.pick([64, 500, 5000]);
    const slot = slots(t)[0]!;
    const index = orderedIndex(slot.elements, tag);
    const at = offsetAt(slot, index);
    const deep = nested(tag, depth, encodeElement(0x00100020, 'LO', stringValue('DEEP', 'LO')));
    return { bytes: replaceBytes(t, slot.chain, at, at, deep), detail: `a sequence nested ${depth} deep at the top level` };
  },
};

export const manyElements: Operator = {
  name: 'many-elements', kind: 'changing', structural: false,
  apply(t, rng) {
    const count = rng.pick([1000, 20000, 60000]);
    const all = slots(t);
    const slot = rng.chance(0.7) ? all[0]! : rng.pick(all);
    // A private block (creator at (0011,0010)) of short elements, in tag order.
    const parts = [encodeElement(0x00110010, 'LO', stringValue('FUZZ', 'LO'))];
    for (let k = 0; k < count; k++) parts.push(encodeElement(0x00111000 + k, 'US', Uint8Array.of(k & 0xff, 0)));
    const block = concat(...parts);
    const at = offsetAt(slot, orderedIndex(slot.elements, 0x00110010));
    return { bytes: replaceBytes(t, slot.chain, at, at, block), detail: `${count} private elements ${where(slot)}` };
  },
};
