// The in-memory shape of a DICOM data set that radseal writes, signs and
// verifies. Writer, reader and MAC stream all work on this one model so that
// what is signed is exactly what is written and what is read back.

/** A tag as a 32-bit number: group << 16 | element. */
export type Tag = number;

export interface Element {
  tag: Tag;
  /** Two-letter VR (explicit VR encoding). */
  vr: string;
  /** Encoded value bytes (already padded to even length) for non-sequence elements. */
  value?: Uint8Array;
  /** Items of a sequence (vr === 'SQ'). */
  items?: DataSet[];
  /** Encapsulated (compressed) Pixel Data: its fragments, the basic offset table first; no `value`. */
  encapsulated?: boolean;
  fragments?: Uint8Array[];
}

/** Elements in ascending tag order. */
export type DataSet = Element[];

export function tag(group: number, element: number): Tag {
  return ((group << 16) | element) >>> 0;
}
/** Pixel Data (7FE0,0010): the element every layer looks for. */
export const PIXEL_DATA = tag(0x7fe0, 0x0010);
export const groupOf = (t: Tag): number => t >>> 16;
export const elementOf = (t: Tag): number => t & 0xffff;

/** (gggg,eeee) as DICOM people write it. */
export function formatTag(t: Tag): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  return `(${hex(groupOf(t))},${hex(elementOf(t))})`;
}

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
export const hasLongLength = (vr: string): boolean => LONG_VRS.has(vr);

export function findElement(ds: DataSet, t: Tag): Element | undefined {
  return ds.find((e) => e.tag === t);
}

/** Inserts or replaces an element, keeping tag order. */
export function putElement(ds: DataSet, el: Element): void {
  const i = ds.findIndex((e) => e.tag >= el.tag);
  if (i < 0) ds.push(el);
  else if (ds[i]!.tag === el.tag) ds[i] = el;
  else ds.splice(i, 0, el);
}
