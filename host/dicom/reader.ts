// Reads a Part 10 file with dicom-parser into radseal's data set model.
// Values are views into the file's bytes (no copies), so the MAC stream of a
// read file is computed over exactly the bytes on disk.
import dicomParser from 'dicom-parser';
import { inflateRawSync } from 'node:zlib';
import type { DataSet, Element, Tag } from './model.js';
import { UID } from './uids.js';
import { decodeString } from './values.js';

export class DicomFormatError extends Error {
  override name = 'DicomFormatError';
}

export interface ParsedFile {
  transferSyntaxUid: string;
  /** File Meta Information elements (group 0002). */
  meta: DataSet;
  /** The data set proper (groups after 0002). */
  dataSet: DataSet;
  /** Whether values carry their VR (Explicit VR); when false, VRs are 'UN' unless known from the structure. */
  explicitVr: boolean;
  warnings: string[];
}

const parseTag = (t: string): Tag => parseInt(t.slice(1), 16) >>> 0;

function toModel(parsed: dicomParser.DataSet, bytes: Uint8Array, explicit: boolean): DataSet {
  const out: DataSet = [];
  for (const key of Object.keys(parsed.elements)) {
    const src = parsed.elements[key]!;
    const t = parseTag(src.tag);
    if (src.items) {
      const items = src.items.map((item) => (item.dataSet ? toModel(item.dataSet, bytes, explicit) : []));
      out.push({ tag: t, vr: 'SQ', items });
      continue;
    }
    const el: Element & { encapsulated?: boolean } = { tag: t, vr: explicit && src.vr ? src.vr : 'UN' };
    if (src.encapsulatedPixelData) {
      el.encapsulated = true;
    } else {
      if (src.dataOffset + src.length > bytes.length) {
        throw new DicomFormatError(`element ${src.tag} runs past the end of the file (truncated?)`);
      }
      el.value = bytes.subarray(src.dataOffset, src.dataOffset + src.length);
    }
    out.push(el);
  }
  out.sort((a, b) => a.tag - b.tag);
  return out;
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Parses a Part 10 file. Throws DicomFormatError with a plain reason when it cannot. */
export function readPart10(bytes: Uint8Array): ParsedFile {
  if (bytes.length < 132 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') {
    throw new DicomFormatError('not a DICOM Part 10 file (no "DICM" after the 128-byte preamble)');
  }
  let parsed: dicomParser.DataSet;
  try {
    // Deflated Explicit VR Little Endian: inflate so the verifier can name it (it never verifies such a copy).
    const inflater = (arr: Uint8Array, position: number): Uint8Array => {
      const body = inflateRawSync(arr.subarray(position));
      const out = new Uint8Array(position + body.length);
      out.set(arr.subarray(0, position));
      out.set(body, position);
      return out;
    };
    parsed = dicomParser.parseDicom(bytes, { inflater } as dicomParser.ParseDicomOptions);
  } catch (err) {
    // dicom-parser throws strings as well as Errors; a truncated file lands here.
    const reason = typeof err === 'string' ? err : reasonOf(err);
    throw new DicomFormatError(`cannot parse DICOM: ${reason.replace(/^dicomParser\.\w+: /, '')}`);
  }
  const transferSyntaxUid = parsed.string('x00020010') ?? '';
  const explicitVr = transferSyntaxUid !== UID.implicitVrLittleEndian;
  const all = toModel(parsed, parsed.byteArray as Uint8Array, explicitVr);
  const meta = all.filter((e) => e.tag >>> 16 === 0x0002);
  const dataSet = all.filter((e) => e.tag >>> 16 !== 0x0002);
  if (explicitVr) {
    // Implicit VR files keep VRs unknown; for explicit ones, the meta group says which.
    const firstMeta = meta.find((e) => e.tag === 0x00020010);
    if (firstMeta && decodeString(firstMeta.value) !== transferSyntaxUid) throw new DicomFormatError('inconsistent transfer syntax');
  }
  return { transferSyntaxUid, meta, dataSet, explicitVr, warnings: [...parsed.warnings] };
}
