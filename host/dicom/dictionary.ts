// The one tag dictionary: which VR a tag has, for data sets that arrive without
// VRs (Implicit VR Little Endian). The data comes from dcmjs's DicomMetaDictionary
// (kept current with the standard by its maintainers); only the dictionary is
// used, never dcmjs's reader or writer, which re-encode values.
import dcmjs from 'dcmjs';
import { type DataSet, type Element, type Tag, formatTag, groupOf, elementOf, tag } from './model.js';
import { decodeUS } from './values.js';

const dictionary = dcmjs.data.DicomMetaDictionary.dictionary;

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/** Repeating groups (overlays 60xx, curves 50xx) are listed once under their first group. */
function key(t: Tag): string {
  const g = groupOf(t);
  const base = (g & 0xff00) === 0x6000 || (g & 0xff00) === 0x5000 ? g & 0xff00 : g;
  return `(${hex4(base)},${hex4(elementOf(t))})`;
}

/** What decides the VR of the tags the dictionary lists with two (US or SS, OB or OW). */
export interface VrContext {
  /** Pixel Representation (0028,0103): 1 = signed. */
  pixelRepresentation: number;
}

/**
 * The VR of a tag, or undefined when the dictionary does not know it (private data
 * elements, retired or future tags). Private creators (gggg,0010-00FF) are LO.
 * Ambiguous entries are resolved as PS3.5 Annex A does for Implicit VR: OW for
 * "OB or OW", US/SS by Pixel Representation, OW for "US or OW".
 */
export function vrOf(t: Tag, ctx: VrContext): string | undefined {
  const g = groupOf(t);
  const e = elementOf(t);
  if (e === 0x0000) return 'UL';
  if (g % 2 === 1) return e >= 0x0010 && e <= 0x00ff ? 'LO' : undefined;
  const vr = dictionary[key(t)]?.vr;
  switch (vr) {
    case undefined: return undefined;
    case 'ox': return 'OW';
    case 'xs': return ctx.pixelRepresentation === 1 ? 'SS' : 'US';
    case 'lt': return 'OW';
    default: return /^[A-Z]{2}$/.test(vr) ? vr : undefined;
  }
}

export interface ExplicitConversion {
  dataSet: DataSet;
  /** Elements whose VR no dictionary knows (by tag, with the path of items to them). */
  unknown: string[];
}

/**
 * A data set read from Implicit VR bytes with every element given its VR from the
 * dictionary (recursively, inside items too). Values are not touched. Elements the
 * dictionary does not know are kept as UN and named in `unknown`.
 */
export function withDictionaryVrs(ds: DataSet, ctx?: VrContext): ExplicitConversion {
  const pixelRepresentation = ctx?.pixelRepresentation ?? decodeUS(ds.find((e) => e.tag === tag(0x0028, 0x0103))?.value) ?? 0;
  const unknown: string[] = [];
  const convert = (items: DataSet, where: string): DataSet => items.map((el): Element => {
    if (el.items) {
      const vr = vrOf(el.tag, { pixelRepresentation });
      if (vr !== undefined && vr !== 'SQ') unknown.push(`${where}${formatTag(el.tag)} (dictionary VR ${vr}, but the value holds items)`);
      return { ...el, vr: 'SQ', items: el.items.map((item, i) => convert(item, `${where}${formatTag(el.tag)} item ${i + 1} > `)) };
    }
    if (el.fragments) return el;
    const vr = vrOf(el.tag, { pixelRepresentation });
    if (vr === 'SQ') {
      // An empty sequence reads as a zero-length value (nothing marks it as items).
      if (el.value && el.value.length > 0) {
        unknown.push(`${where}${formatTag(el.tag)} (a sequence whose value is no item)`);
        return el;
      }
      return { tag: el.tag, vr: 'SQ', items: [] };
    }
    if (vr === undefined) {
      unknown.push(`${where}${formatTag(el.tag)}`);
      return el;
    }
    return { ...el, vr };
  });
  return { dataSet: convert(ds, ''), unknown };
}
