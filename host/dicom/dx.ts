// A Digital X-Ray (DX) Image Storage - For Presentation data set (PS3.3
// A.26) around one native 16-bit monochrome frame.
import { type DataSet, type Element, tag } from './model.js';
import { str, us, sq } from './values.js';
import { UID, newUid } from './uids.js';
import type { PixelRange } from '../core/range.js';

/** What the modality knows about the exposure; everything is optional. */
export interface CaptureMeta {
  patientName?: string;
  patientId?: string;
  patientBirthDate?: string;
  patientSex?: 'M' | 'F' | 'O' | '';
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  studyId?: string;
  accessionNumber?: string;
  studyDescription?: string;
  referringPhysicianName?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  bodyPartExamined?: string;
  viewPosition?: string;
  imageLaterality?: 'R' | 'L' | 'U' | 'B';
  institutionName?: string;
  stationName?: string;
  manufacturer?: string;
  manufacturerModelName?: string;
  deviceSerialNumber?: string;
  operatorsName?: string;
  /**
   * Identifier of the technologist who took the image (their badge/login id,
   * the CN of their signing certificate): written as the code value in
   * Operator Identification Sequence (0008,1072) > Person Identification Code Sequence.
   */
  operatorId?: string;
  /**
   * Patient Orientation (0020,0020), row then column direction, e.g. ["L", "F"] for a PA chest as
   * displayed. Only from the console, worklist or meta file: a guessed value would be signed for good.
   */
  patientOrientation?: [string, string];
  /** Physical distance between detector element centres, mm: [row, column]. */
  imagerPixelSpacing?: [number, number];
  photometricInterpretation?: 'MONOCHROME1' | 'MONOCHROME2';
  /** Detector Type (0018,7004) of the board's detector. */
  detectorType?: DetectorType;
  /** Peak kilo voltage of the generator, KVP (0018,0060). */
  kvp?: number;
  /** Tube current-time product in mAs: Exposure (0018,1152) and Exposure in µAs (0018,1153). */
  exposureMas?: number;
  /** Exposure Index (0018,1411), IEC 62494-1, as the detector computed it. */
  exposureIndex?: number;
  /** Distance Source to Detector (0018,1110), mm. */
  distanceSourceToDetectorMm?: number;
}

export const DETECTOR_TYPES = ['DIRECT', 'SCINTILLATOR', 'STORAGE', 'FILM'] as const;
export type DetectorType = (typeof DETECTOR_TYPES)[number];

export const META_KEYS: ReadonlyArray<keyof CaptureMeta> = [
  'patientName', 'patientId', 'patientBirthDate', 'patientSex', 'studyInstanceUid', 'seriesInstanceUid', 'studyId',
  'accessionNumber', 'studyDescription', 'referringPhysicianName', 'seriesNumber', 'instanceNumber', 'bodyPartExamined',
  'viewPosition', 'imageLaterality', 'institutionName', 'stationName', 'manufacturer', 'manufacturerModelName',
  'deviceSerialNumber', 'operatorsName', 'operatorId', 'patientOrientation', 'imagerPixelSpacing', 'photometricInterpretation',
  'detectorType', 'kvp', 'exposureMas', 'exposureIndex', 'distanceSourceToDetectorMm',
];

export interface DxFrame {
  rows: number;
  cols: number;
  bitsStored: number;
  pixels: Uint16Array;
}

export interface DxObject {
  dataSet: DataSet;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
}

const T = (g: number, e: number) => tag(g, e);

function dicomDate(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}
function dicomTime(d: Date): string {
  return d.toISOString().slice(11, 23).replace(/:/g, '');
}

function scanRange(pixels: Uint16Array): PixelRange {
  let min = 65535;
  let max = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** A window that shows the whole used range: the VOI the image is displayed with by default. */
function defaultWindow({ min: lo, max: hi }: PixelRange, bitsStored: number): [number, number] {
  if (hi < lo) return [2 ** (bitsStored - 1), 2 ** bitsStored];
  const width = Math.max(1, hi - lo + 1);
  return [lo + width / 2, width];
}

const ds = (n: number) => {
  const s = Number.isInteger(n) ? String(n) : n.toPrecision(10).replace(/0+$/, '').replace(/\.$/, '');
  return s.length > 16 ? n.toExponential(8) : s;
};

/** Anatomic Region Sequence codes (CID 4009, SNOMED CT) for the Body Part Examined values radseal knows. */
const ANATOMIC_REGION: Record<string, [string, string]> = {
  CHEST: ['51185008', 'Chest'],
};

function anatomicRegion(bodyPart: string | undefined): Element {
  const code = bodyPart ? ANATOMIC_REGION[bodyPart.toUpperCase()] : undefined;
  // Type 2 (General Anatomy Required Macro): zero items when the region is not known.
  return sq(T(0x0008, 0x2218), code ? [[
    str(T(0x0008, 0x0100), 'SH', code[0]),
    str(T(0x0008, 0x0102), 'SH', 'SCT'),
    str(T(0x0008, 0x0104), 'LO', code[1]),
  ]] : []);
}

/** Coding scheme for operator identifiers: a private (local) scheme, PS3.16 8.1 ("99" prefix). */
export const OPERATOR_ID_SCHEME = '99RADSEAL';

/** Operator Identification Sequence (0008,1072): one item per Operators' Name value (PS3.3 C.7.3.1). */
function operatorIdentification(meta: CaptureMeta): Element[] {
  if (!meta.operatorId) return [];
  return [sq(T(0x0008, 0x1072), [[
    str(T(0x0008, 0x0080), 'LO', meta.institutionName || 'radseal site'),
    sq(T(0x0040, 0x1101), [[
      str(T(0x0008, 0x0100), 'SH', meta.operatorId),
      str(T(0x0008, 0x0102), 'SH', OPERATOR_ID_SCHEME),
      str(T(0x0008, 0x0104), 'LO', meta.operatorsName || meta.operatorId),
    ]]),
  ]])];
}

/**
 * X-Ray Acquisition Dose attributes the detector or the modality reported; none is ever guessed,
 * so an exposure nobody measured has none (they are type 3).
 */
function exposureElements(meta: CaptureMeta): Element[] {
  const out: Element[] = [];
  if (meta.kvp !== undefined) out.push(str(T(0x0018, 0x0060), 'DS', ds(meta.kvp)));
  if (meta.distanceSourceToDetectorMm !== undefined) out.push(str(T(0x0018, 0x1110), 'DS', ds(meta.distanceSourceToDetectorMm)));
  if (meta.exposureMas !== undefined) {
    out.push(str(T(0x0018, 0x1152), 'IS', String(Math.round(meta.exposureMas))));
    out.push(str(T(0x0018, 0x1153), 'IS', String(Math.round(meta.exposureMas * 1000))));
  }
  if (meta.exposureIndex !== undefined) out.push(str(T(0x0018, 0x1411), 'DS', ds(meta.exposureIndex)));
  return out;
}

export function pixelBytes(pixels: Uint16Array): Uint8Array {
  // Pixel Data is little endian; so is every platform radseal targets (checked in host/core).
  return new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
}

export interface BuildDxOptions {
  /**
   * The frame's pixel range when the caller has it already (the seal takes it in the WebAssembly
   * core where the frame lies, host/core/range.ts); otherwise the pixels are scanned here.
   */
  pixelRange?: PixelRange;
}

export function buildDx(frame: DxFrame, meta: CaptureMeta, extra: Element[], captureTime: Date, options: BuildDxOptions = {}): DxObject {
  const { rows, cols, bitsStored, pixels } = frame;
  if (!(bitsStored >= 6 && bitsStored <= 16)) throw new RangeError(`bits stored ${bitsStored} outside 6..16 (DX)`);
  if (pixels.length !== rows * cols) throw new RangeError(`frame has ${pixels.length} pixels, expected ${rows}x${cols}`);
  const sopInstanceUid = newUid();
  const studyInstanceUid = meta.studyInstanceUid ?? newUid();
  const seriesInstanceUid = meta.seriesInstanceUid ?? newUid();
  const now = new Date();
  const [wc, ww] = defaultWindow(options.pixelRange ?? scanRange(pixels), bitsStored);
  const spacing = meta.imagerPixelSpacing ?? [0.139, 0.139];
  const elements: Element[] = [
    str(T(0x0008, 0x0005), 'CS', 'ISO_IR 192'),
    str(T(0x0008, 0x0008), 'CS', ['ORIGINAL', 'PRIMARY']),
    str(T(0x0008, 0x0012), 'DA', dicomDate(now)),
    str(T(0x0008, 0x0013), 'TM', dicomTime(now)),
    str(T(0x0008, 0x0016), 'UI', UID.dxImageStorageForPresentation),
    str(T(0x0008, 0x0018), 'UI', sopInstanceUid),
    str(T(0x0008, 0x0020), 'DA', dicomDate(captureTime)),
    str(T(0x0008, 0x0023), 'DA', dicomDate(captureTime)),
    str(T(0x0008, 0x002a), 'DT', dicomDate(captureTime) + dicomTime(captureTime)),
    str(T(0x0008, 0x0030), 'TM', dicomTime(captureTime)),
    str(T(0x0008, 0x0033), 'TM', dicomTime(captureTime)),
    str(T(0x0008, 0x0050), 'SH', meta.accessionNumber ?? ''),
    str(T(0x0008, 0x0060), 'CS', 'DX'),
    str(T(0x0008, 0x0068), 'CS', 'FOR PRESENTATION'),
    str(T(0x0008, 0x0070), 'LO', meta.manufacturer ?? ''), // type 2: the board's, never ours by default
    str(T(0x0008, 0x0080), 'LO', meta.institutionName ?? ''),
    str(T(0x0008, 0x0090), 'PN', meta.referringPhysicianName ?? ''),
    str(T(0x0008, 0x1010), 'SH', meta.stationName ?? ''),
    str(T(0x0008, 0x1030), 'LO', meta.studyDescription ?? ''),
    str(T(0x0008, 0x1070), 'PN', meta.operatorsName ?? ''),
    ...operatorIdentification(meta),
    str(T(0x0008, 0x1090), 'LO', meta.manufacturerModelName ?? ''),
    anatomicRegion(meta.bodyPartExamined),
    str(T(0x0010, 0x0010), 'PN', meta.patientName ?? ''),
    str(T(0x0010, 0x0020), 'LO', meta.patientId ?? ''),
    str(T(0x0010, 0x0030), 'DA', meta.patientBirthDate ?? ''),
    str(T(0x0010, 0x0040), 'CS', meta.patientSex ?? ''),
    str(T(0x0018, 0x0015), 'CS', meta.bodyPartExamined ?? ''),
    str(T(0x0018, 0x1000), 'LO', meta.deviceSerialNumber ?? ''),
    str(T(0x0018, 0x1020), 'LO', 'radseal 0.1.0'),
    ...exposureElements(meta),
    str(T(0x0018, 0x1164), 'DS', spacing.map(ds)),
    str(T(0x0018, 0x1508), 'CS', ''), // Positioner Type, type 2: not known to a bare detector
    str(T(0x0018, 0x5101), 'CS', meta.viewPosition ?? ''),
    str(T(0x0018, 0x7004), 'CS', meta.detectorType ?? ''), // type 2: empty when the board does not say
    str(T(0x0020, 0x000d), 'UI', studyInstanceUid),
    str(T(0x0020, 0x000e), 'UI', seriesInstanceUid),
    str(T(0x0020, 0x0010), 'SH', meta.studyId ?? ''),
    str(T(0x0020, 0x0011), 'IS', String(meta.seriesNumber ?? 1)),
    str(T(0x0020, 0x0013), 'IS', String(meta.instanceNumber ?? 1)),
    // Type 1C in the DX Image module for For Presentation images, but only the console, worklist or
    // meta file knows it: empty when nobody said it (dciodvfy then reports it) rather than a guess signed for good.
    str(T(0x0020, 0x0020), 'CS', meta.patientOrientation ?? ''),
    str(T(0x0020, 0x0062), 'CS', meta.imageLaterality ?? 'U'),
    us(T(0x0028, 0x0002), 1),
    str(T(0x0028, 0x0004), 'CS', meta.photometricInterpretation ?? 'MONOCHROME2'),
    us(T(0x0028, 0x0010), rows),
    us(T(0x0028, 0x0011), cols),
    us(T(0x0028, 0x0100), 16),
    us(T(0x0028, 0x0101), bitsStored),
    us(T(0x0028, 0x0102), bitsStored - 1),
    us(T(0x0028, 0x0103), 0),
    str(T(0x0028, 0x0301), 'CS', 'NO'),
    str(T(0x0028, 0x1040), 'CS', 'LIN'),
    { tag: T(0x0028, 0x1041), vr: 'SS', value: new Uint8Array([1, 0]) },
    str(T(0x0028, 0x1050), 'DS', ds(wc)),
    str(T(0x0028, 0x1051), 'DS', ds(ww)),
    str(T(0x0028, 0x1052), 'DS', '0'),
    str(T(0x0028, 0x1053), 'DS', '1'),
    str(T(0x0028, 0x1054), 'LO', 'US'),
    str(T(0x0028, 0x2110), 'CS', '00'),
    sq(T(0x0040, 0x0555), []),
    str(T(0x2050, 0x0020), 'CS', (meta.photometricInterpretation ?? 'MONOCHROME2') === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY'),
    ...extra,
    { tag: T(0x7fe0, 0x0010), vr: 'OW', value: pixelBytes(pixels) },
  ];
  elements.sort((a, b) => a.tag - b.tag);
  return { dataSet: elements, sopInstanceUid, studyInstanceUid, seriesInstanceUid };
}
