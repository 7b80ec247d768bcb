// Mutations that change what the object says (or make it ambiguous): a
// verifier must never call the result authentic.
import { type Part10Tokens, LONG_VRS, UNDEFINED_LENGTH, tagText } from './part10-tokens.js';
import { concat, encodeElement, encodeSequence, getU32, replaceBytes, setU16, setU32, stringValue, u16Value } from './byte-edits.js';
import { elements, items, offsetAt, orderedIndex, slots, where, type Slot } from './dicom-structure.js';
import { KNOWN_ELEMENTS } from './dicom-known-elements.js';
import type { Operator } from './dicom-operator.js';
import type { Rng } from './prng.js';

const ALL_VRS = ['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV'];
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__', 'isPrototypeOf'];

function pickSlot(t: Part10Tokens, rng: Rng, topLevelShare: number): Slot {
  const all = slots(t);
  return rng.chance(topLevelShare) || all.length === 1 ? all[0]! : rng.pick(all.slice(1));
}

function insertAt(t: Part10Tokens, slot: Slot, index: number, encoded: Uint8Array): Uint8Array {
  const at = offsetAt(slot, index);
  return replaceBytes(t, slot.chain, at, at, encoded);
}

function randomTag(rng: Rng): number {
  const group = rng.pick([
    () => 0x0008 + 2 * rng.int(0x3fec), // a standard group
    () => 0x0009 + 2 * rng.int(0x3ffb), // a private group
    () => rng.pick([0x0000, 0x0002, 0x0004, 0x0006]), // groups the MAC rules skip
    () => rng.pick([0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x6000, 0x7fe0, 0x4ffe, 0xfffa]),
  ])();
  const element = rng.range(1, 0xffff);
  return ((group << 16) | element) >>> 0;
}

function randomElement(rng: Rng, tag: number): Uint8Array {
  const vr = rng.pick(ALL_VRS);
  if (vr === 'SQ') return encodeSequence(tag, rng.chance(0.5) ? [] : [encodeElement(0x00100020, 'LO', stringValue('INNER', 'LO'))]);
  const n = LONG_VRS.has(vr) ? rng.int(129) : rng.int(33);
  return encodeElement(tag, vr, rng.bytes(rng.chance(0.8) ? n & ~1 : n));
}

const insertRandom: Operator = {
  name: 'insert-random-element', kind: 'changing', structural: false,
  apply(t, rng) {
    const tag = randomTag(rng);
    const slot = pickSlot(t, rng, 0.7);
    const ordered = rng.chance(0.85);
    const index = ordered ? orderedIndex(slot.elements, tag) : rng.int(slot.elements.length + 1);
    return { bytes: insertAt(t, slot, index, randomElement(rng, tag)), detail: `${tagText(tag)} ${ordered ? 'in tag order' : `at position ${index}`} ${where(slot)}` };
  },
};

const insertKnown: Operator = {
  name: 'insert-known-element', kind: 'changing', structural: false,
  apply(t, rng) {
    const known = rng.pick(KNOWN_ELEMENTS);
    const slot = pickSlot(t, rng, 0.8);
    const mode = rng.pick(['before', 'after', 'after', 'random'] as const);
    const after = orderedIndex(slot.elements, known.tag);
    const before = slot.elements.findIndex((e) => e.tag >= known.tag);
    const index = mode === 'random' ? rng.int(slot.elements.length + 1) : mode === 'before' && before >= 0 ? before : after;
    return { bytes: insertAt(t, slot, index, known.encode(rng)), detail: `${known.name} ${tagText(known.tag)} ${mode} ${where(slot)}` };
  },
};

const duplicate: Operator = {
  name: 'duplicate-element', kind: 'changing', structural: true,
  apply(t, rng) {
    const { element, slot } = rng.pick(elements(t));
    const copy = t.bytes.slice(element.start, element.end);
    const edited = rng.chance(0.4) && element.valueEnd > element.valueStart && !element.items;
    if (edited) copy[element.valueStart - element.start + rng.int(element.valueEnd - element.valueStart)] ^= 1 << rng.int(8);
    const before = rng.chance(0.5);
    const at = before ? element.start : element.end;
    return { bytes: replaceBytes(t, slot.chain, at, at, copy), detail: `${tagText(element.tag)} ${where(slot)} copied ${before ? 'before' : 'after'} itself${edited ? ', copy edited' : ''}` };
  },
};

const reorder: Operator = {
  name: 'reorder-elements', kind: 'changing', structural: true,
  apply(t, rng) {
    const candidates = slots(t).filter((s) => s.elements.length >= 2);
    if (!candidates.length) return null;
    const slot = rng.pick(candidates);
    const i = rng.int(slot.elements.length - 1);
    const j = rng.chance(0.5) ? i + 1 : rng.range(i + 1, slot.elements.length - 1);
    const a = slot.elements[i]!, b = slot.elements[j]!;
    const src = t.bytes;
    const swapped = concat(src.subarray(b.start, b.end), src.subarray(a.end, b.start), src.subarray(a.start, a.end));
    const out = src.slice();
    out.set(swapped, a.start);
    if (out.every((x, k) => x === src[k])) return null;
    return { bytes: out, detail: `${tagText(a.tag)} and ${tagText(b.tag)} swapped ${where(slot)}` };
  },
};

function valueCarriers(t: Part10Tokens) {
  return elements(t).filter((l) => !l.element.items && l.element.length !== UNDEFINED_LENGTH);
}

const FILL_NAMES: Record<number, string> = { 0x20: 'spaces', 0x00: 'NULs', 0x41: "'A's" };

const resizeValue: Operator = {
  name: 'resize-value', kind: 'changing', structural: false,
  apply(t, rng) {
    const { element, slot } = rng.pick(valueCarriers(t));
    const old = element.valueEnd - element.valueStart;
    const delta = (rng.chance(0.5) ? 1 : -1) * (rng.chance(0.8) ? 2 * rng.range(1, 4) : rng.range(1, 7));
    const size = Math.max(0, old + delta);
    if (size === old || (element.lengthBytes === 2 && size > 0xffff)) return null;
    const value = new Uint8Array(size);
    value.set(t.bytes.subarray(element.valueStart, element.valueStart + Math.min(old, size)));
    const fill = rng.pick([0x20, 0x00, 0x41]);
    if (size > old) value.fill(fill, old);
    const head = t.bytes.slice(element.start, element.valueStart);
    if (element.lengthBytes === 2) setU16(head, element.lengthAt - element.start, size);
    else setU32(head, element.lengthAt - element.start, size);
    return { bytes: replaceBytes(t, slot.chain, element.start, element.end, concat(head, value)), detail: `${tagText(element.tag)} ${where(slot)} value ${old} -> ${size} bytes${size > old ? ` (${FILL_NAMES[fill]})` : ''}` };
  },
};

/** Every declared length: elements, sequences and items. */
function lengthFields(t: Part10Tokens): Array<{ at: number; bytes: 2 | 4; value: number; what: string }> {
  const fromElements = elements(t).map(({ element, slot }) => ({ at: element.lengthAt, bytes: element.lengthBytes, value: element.length, what: `${tagText(element.tag)} ${where(slot)}` }));
  const fromItems = items(t).map(({ item, path }) => ({ at: item.lengthAt, bytes: 4 as const, value: item.length, what: `item ${path}` }));
  return [...fromElements, ...fromItems];
}

function writeLength(t: Part10Tokens, f: { at: number; bytes: 2 | 4 }, value: number): Uint8Array {
  const out = t.bytes.slice();
  if (f.bytes === 2) setU16(out, f.at, value);
  else setU32(out, f.at, value);
  return out;
}

const resizeDeclared: Operator = {
  name: 'resize-declared-length', kind: 'changing', structural: false,
  apply(t, rng) {
    const f = rng.pick(lengthFields(t));
    if (f.value === UNDEFINED_LENGTH) return null;
    const value = f.value + (rng.chance(0.5) ? 1 : -1) * rng.range(1, 16);
    if (value < 0 || value > (f.bytes === 2 ? 0xffff : 0xfffffffe)) return null;
    return { bytes: writeLength(t, f, value), detail: `${f.what} length ${f.value} -> ${value}` };
  },
};

const hugeLength: Operator = {
  name: 'huge-length', kind: 'changing', structural: false,
  apply(t, rng) {
    const f = rng.pick(lengthFields(t));
    const value = f.bytes === 2 ? rng.pick([0xffff, 0xfffe, 0x8000]) : rng.pick([0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, t.bytes.length, t.bytes.length - f.at]);
    if (value === f.value) return null;
    return { bytes: writeLength(t, f, value), detail: `${f.what} length ${f.value} -> 0x${value.toString(16)}` };
  },
};

function flipBits(src: Uint8Array, from: number, to: number, rng: Rng, flips: number): { bytes: Uint8Array; at: number[] } {
  const out = src.slice();
  const at: number[] = [];
  for (let k = 0; k < flips; k++) {
    const p = from + rng.int(to - from);
    out[p]! ^= 1 << rng.int(8);
    at.push(p);
  }
  return { bytes: out, at };
}

const flipAnywhere: Operator = {
  name: 'flip-anywhere', kind: 'changing', structural: false,
  apply(t, rng) {
    const r = flipBits(t.bytes, 0, t.bytes.length, rng, rng.range(1, 4));
    if (r.bytes.every((x, k) => x === t.bytes[k])) return null;
    return { bytes: r.bytes, detail: `bits flipped at ${r.at.join(', ')}` };
  },
};

const flipInElement: Operator = {
  name: 'flip-in-element', kind: 'changing', structural: false,
  apply(t, rng) {
    const { element, slot } = rng.pick(elements(t));
    const inHeader = rng.chance(0.3) || element.valueEnd === element.valueStart;
    const [from, to] = inHeader ? [element.start, element.valueStart] : [element.valueStart, element.valueEnd];
    const r = flipBits(t.bytes, from, to, rng, rng.range(1, 2));
    if (r.bytes.every((x, k) => x === t.bytes[k])) return null;
    return { bytes: r.bytes, detail: `${tagText(element.tag)} ${where(slot)}: bits flipped in the ${inHeader ? 'header' : 'value'} at ${r.at.join(', ')}` };
  },
};

const truncate: Operator = {
  name: 'truncate', kind: 'changing', structural: false,
  apply(t, rng) {
    const top = t.dataSet;
    const cut = rng.pick([
      () => rng.int(t.bytes.length),
      () => t.bytes.length - rng.range(1, 16),
      () => top[rng.int(top.length)]!.start, // whole trailing elements dropped
    ])();
    return { bytes: t.bytes.slice(0, Math.max(0, cut)), detail: `cut at ${cut} of ${t.bytes.length}` };
  },
};

const trailingGarbage: Operator = {
  name: 'trailing-garbage', kind: 'changing', structural: true,
  apply(t, rng) {
    const garbage = rng.pick([
      () => rng.bytes(rng.range(1, 64)),
      () => new Uint8Array(rng.range(1, 7)),
      () => KNOWN_ELEMENTS[rng.int(KNOWN_ELEMENTS.length)]!.encode(rng), // a whole element after the last one, out of order
    ])();
    return { bytes: concat(t.bytes, garbage), detail: `${garbage.length} bytes after the last element` };
  },
};

const META_CONTRADICTIONS: Array<{ tag: number; vr: string; values: string[] }> = [
  { tag: 0x00020003, vr: 'UI', values: ['1.2.3.4.5.6.7.8.9', '2.25.1'] }, // not the data set's SOP Instance UID
  { tag: 0x00020002, vr: 'UI', values: ['1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.1.1.1'] }, // another SOP Class
  { tag: 0x00020010, vr: 'UI', values: ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.5', '', ...PROTOTYPE_NAMES] },
];

const metaChanging: Operator = {
  name: 'meta-contradiction', kind: 'changing', structural: true,
  apply(t, rng) {
    const groupLength = t.meta.find((e) => e.tag === 0x00020000);
    if (groupLength && rng.chance(0.2)) {
      const out = t.bytes.slice();
      const old = getU32(t.bytes, groupLength.valueStart);
      const value = rng.pick([old + 2, old - 2, old + 8, 0, 0xffffffff]);
      setU32(out, groupLength.valueStart, value >>> 0);
      return { bytes: out, detail: `meta group length -> ${value >>> 0}` };
    }
    const spec = rng.pick(META_CONTRADICTIONS);
    const existing = t.meta.find((e) => e.tag === spec.tag);
    if (!existing) return null;
    const encoded = encodeElement(spec.tag, spec.vr, stringValue(rng.pick(spec.values), spec.vr));
    const bytes = replaceBytes(t, 'meta', existing.start, existing.end, encoded);
    return bytes.length === t.bytes.length && bytes.every((x, k) => x === t.bytes[k]) ? null : { bytes, detail: `meta ${tagText(spec.tag)} = ${new TextDecoder().decode(encoded.subarray(8))}` };
  },
};

/** String elements a verifier looks up by value (algorithm names, codes, creators): a JS prototype name must not resolve to anything. */
const LOOKED_UP = [0x04000015, 0x04000110, 0x00080100, 0x00080102, 0x00090010, 0x00091007, 0x0009100a, 0x00100020, 0x00280004, 0x00080060, 0x00080016];

const prototypeName: Operator = {
  name: 'prototype-name', kind: 'changing', structural: false,
  apply(t, rng) {
    const targets = elements(t).filter((l) => LOOKED_UP.includes(l.element.tag));
    if (!targets.length) return null;
    const { element, slot } = rng.pick(targets);
    const name = rng.pick(PROTOTYPE_NAMES);
    const encoded = encodeElement(element.tag, element.vr, stringValue(name, element.vr));
    return { bytes: replaceBytes(t, slot.chain, element.start, element.end, encoded), detail: `${tagText(element.tag)} ${where(slot)} = "${name}"` };
  },
};

const changeVr: Operator = {
  name: 'change-vr', kind: 'changing', structural: false,
  apply(t, rng) {
    const { element, slot } = rng.pick(elements(t));
    const vr = rng.pick([...ALL_VRS, 'UN', 'UN', '__', 'co', 'to', 'ha']);
    if (vr === element.vr) return null;
    const out = t.bytes.slice();
    out[element.start + 4] = vr.charCodeAt(0);
    out[element.start + 5] = vr.charCodeAt(1);
    return { bytes: out, detail: `${tagText(element.tag)} ${where(slot)} VR ${element.vr} -> ${vr}` };
  },
};

const geometryZero: Operator = {
  name: 'rows-columns-zero', kind: 'changing', structural: false,
  apply(t, rng) {
    const targets = t.dataSet.filter((e) => (e.tag === 0x00280010 || e.tag === 0x00280011) && e.valueEnd - e.valueStart === 2);
    if (!targets.length) return null;
    const out = t.bytes.slice();
    const both = rng.chance(0.3);
    const chosen = both ? targets : [rng.pick(targets)];
    const value = rng.pick([0, 0, 1, 0xffff]);
    for (const e of chosen) out.set(u16Value(value), e.valueStart);
    if (out.every((x, k) => x === t.bytes[k])) return null;
    return { bytes: out, detail: `${chosen.map((e) => tagText(e.tag)).join(' and ')} = ${value}` };
  },
};

const PREAMBLES: Array<(rng: Rng) => Uint8Array> = [
  () => new Uint8Array(128),
  (rng) => rng.bytes(128),
  () => Uint8Array.from('II*\0\x08\0\0\0', (c) => c.charCodeAt(0)), // a TIFF header (dual-personality files)
  () => Uint8Array.from('constructor __proto__ toString hasOwnProperty', (c) => c.charCodeAt(0)),
];

/**
 * The 128-byte preamble means nothing to DICOM readers, but content there makes the file a
 * second format too (TIFF, an executable: CVE-2019-11687), so the verifier treats it as a change.
 */
const preamble: Operator = {
  name: 'preamble', kind: 'changing', structural: true,
  apply(t, rng) {
    const out = t.bytes.slice();
    out.fill(0, 0, 128);
    out.set(rng.pick(PREAMBLES)(rng).subarray(0, 128), 0);
    if (out.subarray(0, 128).every((b, i) => b === t.bytes[i])) return null;
    return { bytes: out, detail: 'preamble rewritten' };
  },
};

export const CHANGING_OPERATORS: Operator[] = [
  insertRandom, insertKnown, duplicate, reorder, resizeValue, resizeDeclared, hugeLength, flipAnywhere, flipInElement,
  truncate, trailingGarbage, metaChanging, prototypeName, changeVr, geometryZero, preamble,
];
