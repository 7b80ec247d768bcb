// Hostile inputs for every front door (gateway, folder watcher, verify-service): a Part 10 file
// cut in half, random bytes (bare, and as the data set of a well-formed meta header), and a
// sealed object whose MAC Algorithm is "constructor" (a name every JavaScript object inherits).
import { randomBytes } from 'node:crypto';
import { readPart10 } from '../../../host/dicom/reader.js';
import { encodePart10, wrapPart10 } from '../../../host/dicom/writer.js';
import { encodeString } from '../../../host/dicom/values.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';

export interface HostileFiles {
  /** The first half of a sealed object. */
  truncated: Uint8Array;
  /** 64 KiB of random bytes: not DICOM at all. */
  random: Uint8Array;
  /** A DX meta header around a random data set (what a C-STORE of garbage becomes). */
  randomDataSet: Uint8Array;
  /** A sealed object whose MAC Parameters say MAC Algorithm "constructor". */
  constructorMac: Uint8Array;
}

const DX_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.1';

export function hostileFiles(sealed: Uint8Array): HostileFiles {
  const parsed = readPart10(sealed);
  const ds: DataSet = parsed.dataSet.map((e) => ({ ...e }));
  const macParameters = findElement(ds, tag(0x4ffe, 0x0001));
  const item = macParameters?.items?.[0];
  const algorithm = item && findElement(item, tag(0x0400, 0x0015));
  if (!algorithm) throw new Error('sealed object without MAC Parameters / MAC Algorithm');
  algorithm.value = encodeString('CS', 'constructor');
  const uid = (t: number) => new TextDecoder().decode(findElement(parsed.dataSet, t)!.value!).replace(/[\0 ]+$/, '');
  return {
    truncated: sealed.slice(0, Math.floor(sealed.length / 2)),
    random: new Uint8Array(randomBytes(65536)),
    randomDataSet: wrapPart10({ sopClassUid: DX_FOR_PRESENTATION, sopInstanceUid: '2.25.1234567890' }, new Uint8Array(randomBytes(65536))),
    constructorMac: encodePart10({ sopClassUid: uid(tag(0x0008, 0x0016)), sopInstanceUid: uid(tag(0x0008, 0x0018)) }, ds),
  };
}
