// What a PACS may correct after capture (IHE Patient Information Reconciliation), and where
// the standard records it: Original Attributes Sequence (PS3.3 C.12.1, SOP Common Module).
//
// Reconcilable = who the image belongs to and which order it answers: the attributes IHE PIR's
// Patient Update and Procedure Update change in stored images. Top-level, single-valued text
// only, so a record is flat and its previous values can be put back byte for byte. Never pixels,
// geometry, UIDs, laterality, view, body part, dates of acquisition or the attestation: anything
// that changes what is shown or measured stays as the device signed it.
import { type DataSet, type Tag, findElement, tag } from '../dicom/model.js';
import { TAGS } from '../dicom/mac.js';
import { SIG } from '../dicom/signatures.js';
import { decodeAT, decodeString, decodeUS } from '../dicom/values.js';

export const HISTORY = {
  originalAttributesSequence: tag(0x0400, 0x0561),
  modifiedAttributesSequence: tag(0x0400, 0x0550),
  attributeModificationDateTime: tag(0x0400, 0x0562),
  modifyingSystem: tag(0x0400, 0x0563),
  sourceOfPreviousValues: tag(0x0400, 0x0564),
  reasonForTheAttributeModification: tag(0x0400, 0x0565),
} as const;

/** Reason for the Attribute Modification (0400,0565): the standard's defined terms. */
export const REASONS = ['CORRECT', 'COERCE'] as const;
export type CorrectionReason = (typeof REASONS)[number];

export type ReconcilableVr = 'PN' | 'LO' | 'SH' | 'DA' | 'CS';

export interface ReconcilableAttribute {
  tag: Tag;
  vr: ReconcilableVr;
  name: string;
  /** DICOM keyword (PS3.6), e.g. PatientID. */
  keyword: string;
}

const attribute = (group: number, element: number, vr: ReconcilableVr, keyword: string, name: string): ReconcilableAttribute =>
  ({ tag: tag(group, element), vr, name, keyword });

/**
 * The attributes a correction may change. Left out on purpose: Other Patient IDs Sequence and
 * Request Attributes Sequence (where image objects carry Requested Procedure ID): sequences,
 * whose prior value the standard records whole, so a record would nest; Patient's Age, Size,
 * Weight: facts of the exposure, not identification.
 */
export const RECONCILABLE_TAGS: ReadonlyMap<Tag, ReconcilableAttribute> = new Map([
  attribute(0x0008, 0x0050, 'SH', 'AccessionNumber', 'Accession Number'),
  attribute(0x0008, 0x0090, 'PN', 'ReferringPhysicianName', "Referring Physician's Name"),
  attribute(0x0008, 0x1030, 'LO', 'StudyDescription', 'Study Description'),
  attribute(0x0010, 0x0010, 'PN', 'PatientName', "Patient's Name"),
  attribute(0x0010, 0x0020, 'LO', 'PatientID', 'Patient ID'),
  attribute(0x0010, 0x0021, 'LO', 'IssuerOfPatientID', 'Issuer of Patient ID'),
  attribute(0x0010, 0x0030, 'DA', 'PatientBirthDate', "Patient's Birth Date"),
  attribute(0x0010, 0x0040, 'CS', 'PatientSex', "Patient's Sex"),
  attribute(0x0020, 0x0010, 'SH', 'StudyID', 'Study ID'),
].map((a) => [a.tag, a]));

const SPECIFIC_CHARACTER_SET = tag(0x0008, 0x0005);
const MAX_CHARS: Record<ReconcilableVr, number> = { PN: 64, LO: 64, SH: 16, DA: 8, CS: 16 };

/**
 * Why `value` cannot be the new value of this attribute in `ds`, or null. Values are written
 * as UTF-8 (values.ts), so non-ASCII text needs Specific Character Set ISO_IR 192 already:
 * changing the character set would change how every other text in the object is shown.
 */
export function valueProblem(ds: DataSet, a: ReconcilableAttribute, value: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(value)) return `${a.name}: control characters and "\\" (a second value) are not allowed`;
  if (/[^\x20-\x7e]/.test(value) && !decodeString(findElement(ds, SPECIFIC_CHARACTER_SET)?.value).split('\\').includes('ISO_IR 192')) {
    return `${a.name}: non-ASCII text needs Specific Character Set ISO_IR 192 (UTF-8), which this object does not declare`;
  }
  const groups = a.vr === 'PN' ? value.split('=') : [value];
  if (groups.length > 3) return `${a.name}: a person name has at most 3 component groups`;
  if (groups.some((g) => [...g].length > MAX_CHARS[a.vr])) return `${a.name}: longer than ${MAX_CHARS[a.vr]} characters (${a.vr})`;
  if (a.vr === 'PN' && groups.some((g) => g.split('^').length > 5)) return `${a.name}: a person name has at most 5 components`;
  if (a.vr === 'DA' && value !== '' && !isCalendarDate(value)) return `${a.name}: not a date YYYYMMDD: "${value}"`;
  if (a.vr === 'CS' && !/^[A-Z0-9 _]*$/.test(value)) return `${a.name}: a code string holds only A-Z, 0-9, space and "_"`;
  if (a.tag === tag(0x0010, 0x0040) && !['', 'M', 'F', 'O'].includes(value)) return `${a.name}: must be M, F, O or empty`;
  return null;
}

function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
  return d.getUTCFullYear() === +m[1]! && d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]!;
}

export interface SignatureSummary {
  macId: number;
  /** CID 7007 code value of the purpose, '' when none. */
  purposeCode: string;
  signedTags: Tag[];
}

/** Every signature of the top level with its purpose and Data Elements Signed. */
export function signatureSummaries(ds: DataSet): SignatureSummary[] {
  const macItems = findElement(ds, TAGS.macParametersSequence)?.items ?? [];
  return (findElement(ds, TAGS.digitalSignaturesSequence)?.items ?? []).map((item) => {
    const macId = decodeUS(findElement(item, SIG.macIdNumber)?.value) ?? -1;
    const purpose = findElement(item, SIG.purposeCodeSequence)?.items?.[0];
    const macItem = macItems.find((m) => decodeUS(findElement(m, SIG.macIdNumber)?.value) === macId);
    const signed = macItem && findElement(macItem, SIG.dataElementsSigned)?.value;
    return { macId, purposeCode: purpose ? decodeString(findElement(purpose, SIG.codeValue)?.value) : '', signedTags: signed ? decodeAT(signed) : [] };
  });
}

/**
 * A signature over the correction history: its Data Elements Signed include Original
 * Attributes Sequence. None made at capture can (the history did not exist), so these are
 * the reconciliation signatures, and none of them can hold over the data set as captured.
 */
export const coversHistory = (s: SignatureSummary): boolean => s.signedTags.includes(HISTORY.originalAttributesSequence);

/** A copy of `ds` without the signatures with these MAC IDs (their Digital Signatures and MAC Parameters items). */
export function withoutSignatures(ds: DataSet, macIds: ReadonlySet<number>): DataSet {
  const keep = (item: DataSet) => !macIds.has(decodeUS(findElement(item, SIG.macIdNumber)?.value) ?? -1);
  const out: DataSet = [];
  for (const el of ds) {
    if (el.tag !== TAGS.macParametersSequence && el.tag !== TAGS.digitalSignaturesSequence) {
      out.push(el);
      continue;
    }
    const items = (el.items ?? []).filter(keep);
    if (items.length) out.push({ ...el, items });
  }
  return out;
}

/**
 * One change as people write it: "0010,0020=NEW-ID", "(0010,0020)=NEW-ID" or "PatientID=NEW-ID";
 * everything after the first "=" is the value (it may be empty). Throws on anything else.
 */
export function parseChange(spec: string): { tag: Tag; newValue: string } {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`"${spec}": write TAG=VALUE, e.g. 0010,0020=NEW-ID or PatientID=NEW-ID`);
  const key = spec.slice(0, eq).trim();
  const newValue = spec.slice(eq + 1);
  const m = /^\(?([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)?$/.exec(key);
  const t = m ? tag(parseInt(m[1]!, 16), parseInt(m[2]!, 16)) : [...RECONCILABLE_TAGS.values()].find((a) => a.keyword === key)?.tag;
  if (t === undefined) throw new Error(`"${key}" is neither a tag (gggg,eeee) nor the keyword of a reconcilable attribute (${[...RECONCILABLE_TAGS.values()].map((a) => a.keyword).join(', ')})`);
  return { tag: t, newValue };
}
