// The data set as the device sealed it, rebuilt from a reconciled object: the corrections
// recorded in Original Attributes Sequence (0400,0561) are undone, newest first, and the
// reconciliation signatures taken away. The capture signatures must hold over the result;
// the reconciliation signature must hold over the object as it is. Pure: no I/O.
import { type DataSet, type Element, type Tag, findElement, formatTag, putElement } from '../dicom/model.js';
import { parseDicomDateTime } from '../dicom/signatures.js';
import { decodeString } from '../dicom/values.js';
import { HISTORY, RECONCILABLE_TAGS, REASONS, coversHistory, signatureSummaries, withoutSignatures } from './reconcilable.js';

export interface AttributeCorrection {
  tag: Tag;
  name: string;
  /** Value before the correction; '' when it was empty or absent (a zero-length record). */
  before: string;
  /** Value the correction set; null when the attribute was absent afterwards. */
  after: string | null;
}

export interface Correction {
  /** Attribute Modification DateTime (0400,0562); null when missing or malformed (a problem). */
  time: Date | null;
  modifyingSystem: string;
  /** Reason for the Attribute Modification (0400,0565): CORRECT or COERCE. */
  reason: string;
  sourceOfPreviousValues: string;
  changes: AttributeCorrection[];
}

export interface AsCaptured {
  /** A copy of the data set as captured; the input is never changed. */
  dataSet: DataSet;
  /** Oldest first, as recorded. */
  corrections: Correction[];
  /** Anything that makes the history unusable; any at all means the object is not authentic. */
  problems: string[];
}

const ITEM_TAGS = new Set<Tag>(Object.values(HISTORY).filter((t) => t !== HISTORY.originalAttributesSequence));

/**
 * Rebuilds the data set as captured. A zero-length recorded value means "empty or absent"
 * (PS3.3 C.12.1.1.9.1 records both so): the element comes back empty when a capture
 * signature lists it in Data Elements Signed, and is removed otherwise. Either way the MAC
 * stream of every capture signature is the one the device computed.
 */
export function asCaptured(ds: DataSet): AsCaptured {
  const history = findElement(ds, HISTORY.originalAttributesSequence);
  const signatures = signatureSummaries(ds);
  const reconciliation = new Set(signatures.filter(coversHistory).map((s) => s.macId));
  const dataSet = withoutSignatures(ds, reconciliation).filter((e) => e.tag !== HISTORY.originalAttributesSequence);
  if (!history) return { dataSet, corrections: [], problems: [] };
  const problems: string[] = [];
  if (history.vr !== 'SQ' || !history.items?.length) problems.push('Original Attributes Sequence (0400,0561) holds no item');
  const signedAtCapture = new Set(signatures.filter((s) => !reconciliation.has(s.macId)).flatMap((s) => s.signedTags));
  const items = history.items ?? [];
  const corrections: Correction[] = items.map((item, i) => readCorrection(item, `Original Attributes Sequence item ${i + 1}`, problems));
  // Newest first: each step puts back what was there before it.
  for (let i = items.length - 1; i >= 0; i--) {
    const recorded = findElement(items[i]!, HISTORY.modifiedAttributesSequence)?.items?.[0] ?? [];
    const changes = corrections[i]!.changes;
    for (const [k, el] of recorded.entries()) {
      if (!RECONCILABLE_TAGS.has(el.tag) || el.items) continue; // already a problem
      const now = findElement(dataSet, el.tag);
      changes[k]!.after = now ? decodeString(now.value) : null;
      if ((el.value?.length ?? 0) === 0 && !signedAtCapture.has(el.tag)) removeElement(dataSet, el.tag);
      else putElement(dataSet, el);
    }
  }
  return { dataSet, corrections, problems };
}

function removeElement(ds: DataSet, t: Tag): void {
  const i = ds.findIndex((e) => e.tag === t);
  if (i >= 0) ds.splice(i, 1);
}

/** One Original Attributes Sequence item as a Correction; what is wrong with it goes to `problems`. */
function readCorrection(item: DataSet, where: string, problems: string[]): Correction {
  const text = (t: Tag) => decodeString(findElement(item, t)?.value);
  const rawTime = text(HISTORY.attributeModificationDateTime);
  const time = (rawTime && parseDicomDateTime(rawTime)) || null;
  if (!time || Number.isNaN(time.getTime())) problems.push(`${where}: Attribute Modification DateTime (0400,0562) is ${rawTime ? `malformed ("${rawTime}")` : 'missing'}`);
  const correction: Correction = {
    time: time && !Number.isNaN(time.getTime()) ? time : null,
    modifyingSystem: text(HISTORY.modifyingSystem),
    reason: text(HISTORY.reasonForTheAttributeModification),
    sourceOfPreviousValues: text(HISTORY.sourceOfPreviousValues),
    changes: [],
  };
  if (!correction.modifyingSystem) problems.push(`${where}: Modifying System (0400,0563) is missing`);
  if (!(REASONS as readonly string[]).includes(correction.reason)) problems.push(`${where}: Reason for the Attribute Modification (0400,0565) is "${correction.reason}", not CORRECT or COERCE`);
  for (const el of item) {
    if (el.tag !== HISTORY.modifiedAttributesSequence && !ITEM_TAGS.has(el.tag)) problems.push(`${where}: unexpected element ${formatTag(el.tag)} (a correction records only what C.12.1 defines)`);
  }
  const modified = findElement(item, HISTORY.modifiedAttributesSequence);
  if (!modified) {
    problems.push(`${where}: no Modified Attributes Sequence (0400,0550)`);
    return correction;
  }
  if (modified.items?.length !== 1) problems.push(`${where}: Modified Attributes Sequence holds ${modified.items?.length ?? 0} items, not exactly 1`);
  const recorded = modified.items?.[0] ?? [];
  if (!recorded.length) problems.push(`${where}: Modified Attributes Sequence records no attribute`);
  for (const el of recorded) {
    correction.changes.push({ tag: el.tag, name: RECONCILABLE_TAGS.get(el.tag)?.name ?? formatTag(el.tag), before: decodeString(el.value), after: null });
    const problem = recordProblem(el);
    if (problem) problems.push(`${where}: ${problem}`);
  }
  return correction;
}

function recordProblem(el: Element): string | null {
  if (el.items || el.vr === 'SQ') return `a nested sequence ${formatTag(el.tag)} in the record (a correction records single values only)`;
  const a = RECONCILABLE_TAGS.get(el.tag);
  if (!a) return `${formatTag(el.tag)} was changed, and it is not a reconcilable attribute: a correction may not change what is shown or measured`;
  if (el.vr !== a.vr) return `${a.name} ${formatTag(el.tag)} recorded with VR ${el.vr}, not ${a.vr}`;
  return null;
}
