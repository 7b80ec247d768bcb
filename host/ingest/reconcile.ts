// A PACS correction of patient or study identification, recorded the standard way and signed:
// one new item of Original Attributes Sequence (0400,0561) with the previous values, the new
// values in the data set, and a fresh PACS signature (purpose Verification) over everything,
// history included. Capture signatures are never touched: they still hold over the data set
// that asCaptured() rebuilds. Pure apart from the signer: no I/O.
import { type DataSet, type Element, type Tag, findElement, formatTag, putElement } from '../dicom/model.js';
import { addSignature, checkSignatures, dicomDateTime, PURPOSE, type SignatureCheck } from '../dicom/signatures.js';
import { decodeString, sq, str } from '../dicom/values.js';
import { readAttestation } from '../dicom/attestation.js';
import type { Signer } from '../keys/ed25519.js';
import { asCaptured } from './as-captured.js';
import { signatureFlood } from './verify.js';
import { uncoveredElements, uncoveredReason } from './coverage.js';
import { type CorrectionReason, type ReconcilableAttribute, HISTORY, RECONCILABLE_TAGS, REASONS, coversHistory, signatureSummaries, valueProblem, withoutSignatures } from './reconcilable.js';

export class ReconcileError extends Error {
  override name = 'ReconcileError';
}

export interface AttributeChange {
  tag: Tag;
  newValue: string;
}

export interface ReconcileOptions {
  /** The PACS signer's key and certificate (role pacs). */
  signer: Signer;
  certificateDer: Uint8Array;
  /** Modifying System (0400,0563): the PACS id, e.g. PACS-1. */
  modifyingSystem: string;
  /** Default CORRECT (a human corrected an error); COERCE when the PACS replaced values on its own rules. */
  reason?: CorrectionReason;
  /** Source of Previous Values (0400,0564); default the attested device id ('' when there is none). */
  sourceOfPreviousValues?: string;
  /** CID 7007 purpose of the PACS signature: Verification (5, default) or Review (13). */
  purpose?: 'verification' | 'review';
  time?: Date;
  /**
   * Whether an earlier reconciliation signature's signer may vouch for the history this
   * correction extends: null when it may, else why not. Default: only the same key as `signer`.
   */
  trustHistorySigner?: (check: SignatureCheck) => string | null;
}

export interface Reconciled {
  /** The corrected data set; the input is left as it was. */
  dataSet: DataSet;
  /** What changed (no-op changes are dropped). */
  changes: Array<{ tag: Tag; before: string; after: string }>;
  signatureUid: string;
  macId: number;
  /** Earlier reconciliation signatures removed (they covered an older history). */
  removedSignatures: number;
}

const LO_MAX = 64;

/** Applies `changes`, records them, signs. Throws ReconcileError naming what makes it impossible. */
export async function reconcile(ds: DataSet, changes: readonly AttributeChange[], opts: ReconcileOptions): Promise<Reconciled> {
  const reason = opts.reason ?? 'CORRECT';
  if (!(REASONS as readonly string[]).includes(reason)) throw new ReconcileError(`reason must be CORRECT or COERCE, not "${reason}"`);
  checkLo('Modifying System', opts.modifyingSystem, true);
  const source = opts.sourceOfPreviousValues ?? readAttestation(ds)?.deviceId ?? '';
  checkLo('Source of Previous Values', source, false);
  const wanted = wantedChanges(ds, changes);
  checkCaptureSignatures(ds);

  const signatures = signatureSummaries(ds);
  const stale = signatures.filter(coversHistory);
  const notOurs = stale.filter((s) => s.purposeCode !== PURPOSE.verification.code && s.purposeCode !== PURPOSE.review.code);
  if (notOurs.length) {
    throw new ReconcileError(`signature #${notOurs[0]!.macId} (purpose ${notOurs[0]!.purposeCode || 'none'}) covers Original Attributes Sequence and is no reconciliation signature: a new correction would break it`);
  }
  if (findElement(ds, HISTORY.originalAttributesSequence)) checkHistorySigned(ds, new Set(stale.map((s) => s.macId)), opts);
  const out = withoutSignatures(ds, new Set(stale.map((s) => s.macId)));
  const time = opts.time ?? new Date();
  const previous: Element[] = wanted
    .map(({ attribute }) => findElement(ds, attribute.tag) ?? { tag: attribute.tag, vr: attribute.vr, value: new Uint8Array(0) })
    .sort((a, b) => a.tag - b.tag);
  const record: DataSet = [
    sq(HISTORY.modifiedAttributesSequence, [previous]),
    str(HISTORY.attributeModificationDateTime, 'DT', dicomDateTime(time)),
    str(HISTORY.modifyingSystem, 'LO', opts.modifyingSystem),
    str(HISTORY.sourceOfPreviousValues, 'LO', source),
    str(HISTORY.reasonForTheAttributeModification, 'CS', reason),
  ];
  const history = findElement(ds, HISTORY.originalAttributesSequence);
  putElement(out, { tag: HISTORY.originalAttributesSequence, vr: 'SQ', items: [...(history?.items ?? []), record] });
  for (const { attribute, newValue } of wanted) putElement(out, str(attribute.tag, attribute.vr, newValue));

  const purpose = opts.purpose === 'review' ? PURPOSE.review : PURPOSE.verification;
  const { macId, signatureUid } = await addSignature(out, { signer: opts.signer, certificateDer: opts.certificateDer, purpose, time });
  return {
    dataSet: out,
    changes: wanted.map(({ attribute, newValue }) => ({ tag: attribute.tag, before: decodeString(findElement(ds, attribute.tag)?.value), after: newValue })),
    signatureUid,
    macId,
    removedSignatures: stale.length,
  };
}

/** System and device ids: printable ASCII, so they read the same whatever the object's character set. */
function checkLo(name: string, value: string, required: boolean): void {
  if (required && !value.trim()) throw new ReconcileError(`${name} is required`);
  if (value.length > LO_MAX || !/^[\x20-\x5b\x5d-\x7e]*$/.test(value)) throw new ReconcileError(`${name} must be at most ${LO_MAX} printable ASCII characters without "\\"`);
}

interface WantedChange {
  attribute: ReconcilableAttribute;
  newValue: string;
}

/** The requested changes, validated, without the ones that change nothing. */
function wantedChanges(ds: DataSet, changes: readonly AttributeChange[]): WantedChange[] {
  const seen = new Set<Tag>();
  const wanted: WantedChange[] = [];
  for (const c of changes) {
    const attribute = RECONCILABLE_TAGS.get(c.tag);
    if (!attribute) throw new ReconcileError(`${formatTag(c.tag)} is not reconcilable: a correction changes patient and study identification only (${[...RECONCILABLE_TAGS.values()].map((a) => a.name).join(', ')})`);
    if (seen.has(c.tag)) throw new ReconcileError(`${attribute.name} ${formatTag(c.tag)} is given twice`);
    seen.add(c.tag);
    const problem = valueProblem(ds, attribute, c.newValue);
    if (problem) throw new ReconcileError(problem);
    const current = findElement(ds, c.tag);
    if (current && current.vr !== attribute.vr) throw new ReconcileError(`${attribute.name} ${formatTag(c.tag)} has VR ${current.vr} here, not ${attribute.vr}`);
    if (current && decodeString(current.value) === c.newValue) continue;
    wanted.push({ attribute, newValue: c.newValue });
  }
  if (!wanted.length) throw new ReconcileError('nothing to change: every new value equals the current one');
  return wanted;
}

const publicKeyOf = (c: SignatureCheck): Uint8Array | undefined =>
  c.certificate && (c.certificate.ed25519PublicKey ?? new Uint8Array(c.certificate.x509.publicKey.export({ format: 'der', type: 'spki' }).subarray(-65)));

/**
 * The new signature will cover the whole history, so the history must already be vouched for:
 * every earlier reconciliation signature holds over the object as it is, by a signer this PACS
 * accepts. Otherwise a value changed (or a record forged) since would be countersigned.
 */
function checkHistorySigned(ds: DataSet, reconciliationIds: ReadonlySet<number>, opts: ReconcileOptions): void {
  const checks = checkSignatures(ds).filter((c) => reconciliationIds.has(c.macId));
  if (!checks.length) throw new ReconcileError('the object has a correction history that no reconciliation signature covers: refusing to countersign it');
  const sameKey = (c: SignatureCheck) => {
    const key = publicKeyOf(c);
    return key && Buffer.compare(Buffer.from(key), Buffer.from(opts.signer.publicKey)) === 0 ? null : `signed by ${c.certificate?.commonName ?? 'an unknown signer'}, not by this PACS signer's key`;
  };
  for (const c of checks) {
    if (!c.valid) throw new ReconcileError(`reconciliation signature #${c.macId} does not hold (${c.problems[0] ?? 'invalid'}): the object changed after the last correction`);
    const why = (opts.trustHistorySigner ?? sameKey)(c);
    if (why) throw new ReconcileError(`the earlier correction (signature #${c.macId}) is not vouched for: ${why}`);
  }
}

/**
 * A PACS signature vouches for the history it covers, so it is given only to an object whose
 * history rebuilds cleanly and whose capture signatures hold over the rebuilt data set.
 */
function checkCaptureSignatures(ds: DataSet): void {
  // As verify refuses them (each signature is a pass over the object): more would make a correction cost any amount of CPU.
  const flood = signatureFlood(ds);
  if (flood) throw new ReconcileError(flood);
  const captured = asCaptured(ds);
  if (captured.problems.length) throw new ReconcileError(`the correction history is unusable: ${captured.problems[0]}`);
  const checks = checkSignatures(captured.dataSet);
  if (!checks.length) throw new ReconcileError('the object carries no capture signature: there is nothing a correction could keep verifiable');
  const broken = checks.find((c) => !c.valid);
  if (broken) throw new ReconcileError(`capture signature #${broken.macId} does not hold (${broken.problems[0] ?? 'invalid'}): refusing to countersign a changed object`);
  // The PACS signature covers every element present: one added after capture (an overlay, a
  // calibration) would look countersigned. Verify trusts it for the corrections only; refuse here too.
  const added = uncoveredElements(captured.dataSet, new Set(checks.flatMap((c) => c.signedTags)));
  if (added.length) throw new ReconcileError(`refusing to countersign: ${uncoveredReason(added).replace(/ trusted device signature/, ' capture signature')}`);
}
