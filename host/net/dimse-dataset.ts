// Data sets inside DIMSE messages (C-FIND identifiers, N-CREATE/N-SET attribute
// lists): encoded in the transfer syntax the peer accepted for the context,
// Explicit or Implicit VR Little Endian, and read back with the one reader.
import type { DataSet, Element } from '../dicom/model.js';
import { encodeDataSet, wrapPart10 } from '../dicom/writer.js';
import { readPart10 } from '../dicom/reader.js';
import { EXPLICIT_LE, IMPLICIT_LE } from './pdu.js';
import { DicomNetError } from './association.js';

/** What radseal proposes for query and notification contexts, preferred first. */
export const DIMSE_TRANSFER_SYNTAXES = [EXPLICIT_LE, IMPLICIT_LE];

const ITEM = 0xfffee000;

function implicitLength(el: Element): number {
  if (el.vr === 'SQ') return (el.items ?? []).reduce((n, item) => n + 8 + implicitDataSetLength(item), 0);
  return el.value?.length ?? 0;
}
const implicitDataSetLength = (ds: DataSet): number => ds.reduce((n, el) => n + 8 + implicitLength(el), 0);

function writeImplicit(out: Uint8Array, dv: DataView, off: number, ds: DataSet): number {
  for (const el of ds) {
    dv.setUint16(off, el.tag >>> 16, true);
    dv.setUint16(off + 2, el.tag & 0xffff, true);
    dv.setUint32(off + 4, implicitLength(el), true);
    off += 8;
    if (el.vr === 'SQ') {
      for (const item of el.items ?? []) {
        dv.setUint16(off, ITEM >>> 16, true);
        dv.setUint16(off + 2, ITEM & 0xffff, true);
        dv.setUint32(off + 4, implicitDataSetLength(item), true);
        off = writeImplicit(out, dv, off + 8, item);
      }
    } else if (el.value) {
      out.set(el.value, off);
      off += el.value.length;
    }
  }
  return off;
}

/** A data set (elements in tag order) in the context's transfer syntax. */
export function encodeDimseDataSet(ds: DataSet, transferSyntax: string): Uint8Array {
  if (transferSyntax === EXPLICIT_LE) return encodeDataSet(ds);
  if (transferSyntax !== IMPLICIT_LE) throw new DicomNetError(`cannot encode a data set in transfer syntax ${transferSyntax}`, false);
  const out = new Uint8Array(implicitDataSetLength(ds));
  writeImplicit(out, new DataView(out.buffer), 0, ds);
  return out;
}

/** A received data set; Implicit VR values come back with VR 'UN' (sequences as 'SQ'). */
export function decodeDimseDataSet(bytes: Uint8Array, transferSyntax: string, what: string): DataSet {
  try {
    // The one reader reads Part 10: the data set gets a meta header around it, nothing else changes.
    return readPart10(wrapPart10({ sopClassUid: '1.2', sopInstanceUid: '1.2', transferSyntaxUid: transferSyntax }, bytes)).dataSet;
  } catch (err) {
    throw new DicomNetError(`${what}: unreadable data set (${(err as Error).message})`, false);
  }
}
