// Mutations the DICOM MAC rules make irrelevant: a correct verifier still
// calls the object authentic after any of them.
import { type Part10Tokens, SEQUENCE_DELIMITER, ITEM_DELIMITER, UNDEFINED_LENGTH, tagText } from './part10-tokens.js';
import { concat, encodeElement, replaceBytes, setU32, stringValue } from './byte-edits.js';
import { elements, items, slots, where, DIGITAL_SIGNATURES_SEQUENCE } from './dicom-structure.js';
import type { Operator } from './dicom-operator.js';
import type { Rng } from './prng.js';

const delimiter = (tag: number): Uint8Array => {
  const d = new Uint8Array(8);
  d[0] = 0xfe; d[1] = 0xff;
  d[2] = tag & 0xff; d[3] = (tag >>> 8) & 0xff;
  return d;
};

function withLength(bytes: Uint8Array, at: number, length: number): Uint8Array {
  setU32(bytes, at, length);
  return bytes;
}

const sequenceToUndefined: Operator = {
  name: 'sequence-undefined-length', kind: 'neutral', structural: false,
  apply(t, rng) {
    const sqs = elements(t).filter((l) => l.element.vr === 'SQ' && l.element.length !== UNDEFINED_LENGTH);
    if (!sqs.length) return null;
    const { element, slot } = rng.pick(sqs);
    const out = replaceBytes(t, slot.chain, element.end, element.end, delimiter(SEQUENCE_DELIMITER));
    return { bytes: withLength(out, element.lengthAt, UNDEFINED_LENGTH), detail: `${tagText(element.tag)} ${where(slot)} to undefined length` };
  },
};

const itemToUndefined: Operator = {
  name: 'item-undefined-length', kind: 'neutral', structural: false,
  apply(t, rng) {
    const list = items(t).filter((i) => i.item.length !== UNDEFINED_LENGTH);
    if (!list.length) return null;
    const { item, chain, path } = rng.pick(list);
    const out = replaceBytes(t, chain, item.end, item.end, delimiter(ITEM_DELIMITER));
    return { bytes: withLength(out, item.lengthAt, UNDEFINED_LENGTH), detail: `item ${path} to undefined length` };
  },
};

const sequenceToDefined: Operator = {
  name: 'sequence-defined-length', kind: 'neutral', structural: false,
  apply(t, rng) {
    const sqs = elements(t).filter((l) => l.element.vr === 'SQ' && l.element.length === UNDEFINED_LENGTH);
    if (!sqs.length) return null;
    const { element, slot } = rng.pick(sqs);
    const out = replaceBytes(t, slot.chain, element.valueEnd, element.end, new Uint8Array(0));
    return { bytes: withLength(out, element.lengthAt, element.valueEnd - element.valueStart), detail: `${tagText(element.tag)} ${where(slot)} to defined length` };
  },
};

const itemToDefined: Operator = {
  name: 'item-defined-length', kind: 'neutral', structural: false,
  apply(t, rng) {
    const list = items(t).filter((i) => i.item.length === UNDEFINED_LENGTH);
    if (!list.length) return null;
    const { item, chain, path } = rng.pick(list);
    const out = replaceBytes(t, chain, item.valueEnd, item.end, new Uint8Array(0));
    return { bytes: withLength(out, item.lengthAt, item.valueEnd - item.valueStart), detail: `item ${path} to defined length` };
  },
};

/** A correct group length (gggg,0000) UL before the first element of a group (never in a signature item: how the item's own elements are hashed is the standard's grey zone). */
const groupLength: Operator = {
  name: 'group-length', kind: 'neutral', structural: false,
  apply(t, rng) {
    const candidates = slots(t).filter((s) => !s.chain.some((c) => c.kind === 'element' && c.tag === DIGITAL_SIGNATURES_SEQUENCE))
      .flatMap((slot) => {
        const groups = [...new Set(slot.elements.map((e) => e.tag >>> 16))];
        return groups.filter((g) => !slot.elements.some((e) => e.tag === (g << 16) >>> 0)).map((group) => ({ slot, group }));
      });
    if (!candidates.length) return null;
    const { slot, group } = rng.pick(candidates);
    const members = slot.elements.filter((e) => e.tag >>> 16 === group);
    const length = members.reduce((n, e) => n + (e.end - e.start), 0);
    const value = new Uint8Array(4);
    setU32(value, 0, length);
    const at = members[0]!.start;
    return { bytes: replaceBytes(t, slot.chain, at, at, encodeElement((group << 16) >>> 0, 'UL', value)), detail: `(${group.toString(16).padStart(4, '0')},0000) = ${length} ${where(slot)}` };
  },
};

/** Data Set Trailing Padding (FFFC,FFFC) at the end of the top level; its value has no meaning. */
const trailingPadding: Operator = {
  name: 'trailing-padding', kind: 'neutral', structural: false,
  apply(t, rng) {
    const last = t.dataSet[t.dataSet.length - 1];
    if (last && last.tag === 0xfffcfffc) return null;
    const n = rng.int(33) * 2;
    // Zeros, as writers pad: non-zero padding (room for an appended payload no signature covers) is invalid.
    return { bytes: concat(t.bytes, encodeElement(0xfffcfffc, 'OB', new Uint8Array(n))), detail: `(FFFC,FFFC) OB of ${n} zero bytes` };
  },
};

const PRINTABLE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.';
const text = (rng: Rng, n: number): string => Array.from({ length: n }, () => rng.pick([...PRINTABLE])).join('');

/** Meta elements that say who wrote the file, not what it holds. */
const META_FREE: Array<{ tag: number; vr: string; value: (rng: Rng) => string }> = [
  { tag: 0x00020013, vr: 'SH', value: (rng) => text(rng, rng.range(1, 16)) },
  { tag: 0x00020016, vr: 'AE', value: (rng) => text(rng, rng.range(1, 16)) },
  { tag: 0x00020012, vr: 'UI', value: (rng) => `2.25.${rng.range(1, 2 ** 30)}${rng.range(1, 2 ** 30)}` },
];

const metaNeutral: Operator = {
  name: 'meta-neutral', kind: 'neutral', structural: false,
  apply(t, rng) {
    const spec = rng.pick(META_FREE);
    const encoded = encodeElement(spec.tag, spec.vr, stringValue(spec.value(rng), spec.vr));
    const existing = t.meta.find((e) => e.tag === spec.tag);
    if (existing) return { bytes: replaceBytes(t, 'meta', existing.start, existing.end, encoded), detail: `meta ${tagText(spec.tag)} replaced` };
    const next = t.meta.find((e) => e.tag > spec.tag);
    const at = next ? next.start : t.dataSetStart;
    return { bytes: replaceBytes(t, 'meta', at, at, encoded), detail: `meta ${tagText(spec.tag)} added` };
  },
};

export const NEUTRAL_OPERATORS: Operator[] = [
  sequenceToUndefined, itemToUndefined, sequenceToDefined, itemToDefined, groupLength, trailingPadding, metaNeutral,
];

