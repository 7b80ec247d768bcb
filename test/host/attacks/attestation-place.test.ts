// Where the capture attestation lies: (0009,0010) for capture and seal, the first free block of
// 7FE1 (after Pixel Data) for the proxy. Whatever moves, copies or splits that block is never
// authentic: moved or copied after signing (the signature lists other tags, or the copy is
// unsigned), and even when the device's key signed such an object (both places, two RADSEAL
// creators, a creator where radseal never writes, an element in no creator's block), since then
// which attestation the verdict rests on would be a guess.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readPart10 } from '../../../host/dicom/reader.js';
import { type DataSet, type Element, elementOf, findElement, groupOf, tag } from '../../../host/dicom/model.js';
import { str } from '../../../host/dicom/values.js';
import { encodePart10 } from '../../../host/dicom/writer.js';
import { TAGS } from '../../../host/dicom/mac.js';
import { addSignature, PURPOSE } from '../../../host/dicom/signatures.js';
import { locateAttestation } from '../../../host/dicom/attestation.js';
import { buildDx } from '../../../host/dicom/dx.js';
import { makePhantom } from '../../../host/image/phantom.js';
import { UID } from '../../../host/dicom/uids.js';
import { sealReceived } from '../../../host/proxy/seal-received.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { readFileSync } from 'node:fs';
import { makeIdentities, sealTo, testFrame } from '../dicom/fixtures.js';
import { tempDir } from '../support/run.js';

const dir = tempDir('radseal-attestation-place-');

async function setUp() {
  const ids = await makeIdentities(dir, 'PROXY-ROOM-5');
  const trust = parseCertificates(readFileSync(ids.trustPem));
  const dx = buildDx(makePhantom({ rows: 96, cols: 80, bitsStored: 14, seed: 5 }), { patientName: 'Place^Attest', patientId: 'P5' }, [], new Date(0));
  const received = encodePart10({ sopClassUid: UID.dxImageStorageForPresentation, sopInstanceUid: dx.sopInstanceUid }, dx.dataSet);
  const proxied = await sealReceived({ part10: received, callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 5 }, { device: ids.device });
  const captured = await sealTo(`${dir}/captured.dcm`, testFrame(64, 80), ids.device);
  return { ids, trust, proxied: proxied.bytes, captured };
}
const ready = setUp();

const verdictOf = async (bytes: Uint8Array) => verifyObject('place.dcm', bytes, (await ready).trust);
const inBlock = (g: number, b: number) => (e: Element) => groupOf(e.tag) === g && (elementOf(e.tag) === b || elementOf(e.tag) >> 8 === b);
/** The block's elements at another group/block: creator to (g,00bb), elements to (g,bbxx). */
const movedTo = (els: Element[], g: number, b: number) => els.map((e) => ({ ...e, tag: tag(g, elementOf(e.tag) < 0x100 ? b : (b << 8) | (elementOf(e.tag) & 0xff)) }));

/** The sealed object's data set changed by `edit`; with `resign`, signed afresh by the device's own key (the rule, not the signature, must refuse it). */
async function changed(bytes: Uint8Array, edit: (ds: DataSet) => DataSet, resign: boolean): Promise<Uint8Array> {
  const parsed = readPart10(bytes);
  let ds = edit(parsed.dataSet.filter((e) => !resign || (e.tag !== TAGS.macParametersSequence && e.tag !== TAGS.digitalSignaturesSequence)));
  ds = [...ds].sort((a, b) => a.tag - b.tag);
  if (resign) {
    const { ids } = await ready;
    await addSignature(ds, { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source });
  }
  const text = (t: number) => Buffer.from(findElement(ds, t)!.value!).toString('latin1').replace(/\0+$/, '');
  return encodePart10({ sopClassUid: text(tag(0x0008, 0x0016)), sopInstanceUid: text(tag(0x0008, 0x0018)) }, ds);
}

test('the genuine objects: the proxy\'s attestation at (7FE1,0010), the captured one at (0009,0010), both authentic', async () => {
  const { proxied, captured } = await ready;
  assert.deepEqual(locateAttestation(readPart10(proxied).dataSet), { block: { group: 0x7fe1, block: 0x10 }, problems: [] });
  assert.deepEqual(locateAttestation(readPart10(captured).dataSet), { block: { group: 0x0009, block: 0x10 }, problems: [] });
  for (const b of [proxied, captured]) assert.equal((await verdictOf(b)).verdict, 'authentic', (await verdictOf(b)).reasons.join('; '));
});

test('moved or copied after signing: never authentic', async () => {
  const { proxied, captured } = await ready;
  const ours = (ds: DataSet) => ds.filter(inBlock(0x7fe1, 0x10));
  const cases: Array<[string, Uint8Array, (ds: DataSet) => DataSet]> = [
    ['moved to (7FE1,0011)', proxied, (ds) => [...ds.filter((e) => !inBlock(0x7fe1, 0x10)(e)), ...movedTo(ours(ds), 0x7fe1, 0x11)]],
    ['moved to (0009,0010)', proxied, (ds) => [...ds.filter((e) => !inBlock(0x7fe1, 0x10)(e)), ...movedTo(ours(ds), 0x0009, 0x10)]],
    ['copied to (7FE1,0011)', proxied, (ds) => [...ds, ...movedTo(ours(ds), 0x7fe1, 0x11)]],
    ['copied to (0009,0010): both places', proxied, (ds) => [...ds, ...movedTo(ours(ds), 0x0009, 0x10)]],
    ['captured: copied to (7FE1,0010): both places', captured, (ds) => [...ds, ...movedTo(ds.filter(inBlock(0x0009, 0x10)), 0x7fe1, 0x10)]],
    ['captured: moved to (7FE1,0010)', captured, (ds) => [...ds.filter((e) => !inBlock(0x0009, 0x10)(e)), ...movedTo(ds.filter(inBlock(0x0009, 0x10)), 0x7fe1, 0x10)]],
  ];
  for (const [what, bytes, edit] of cases) {
    const r = await verdictOf(await changed(bytes, edit, false));
    assert.notEqual(r.verdict, 'authentic', `${what}: ${r.reasons.join('; ')}`);
  }
});

test('signed by the device key all the same: two places, two creators, a creator elsewhere, an element in no block: never authentic, no attestation read', async () => {
  const { proxied } = await ready;
  const ours = (ds: DataSet) => ds.filter(inBlock(0x7fe1, 0x10));
  const cases: Array<[string, (ds: DataSet) => DataSet, RegExp]> = [
    ['both places', (ds) => [...ds, ...movedTo(ours(ds), 0x0009, 0x10)], /occurs 2 times \(\(0009,0010\), \(7FE1,0010\)\)/],
    ['two RADSEAL creators in 7FE1', (ds) => [...ds, str(tag(0x7fe1, 0x0011), 'LO', 'RADSEAL 1.0')], /occurs 2 times/],
    ['a RADSEAL creator where radseal never writes', (ds) => [...ds, str(tag(0x0011, 0x0010), 'LO', 'RADSEAL 1.0')], /at \(0011,0010\), where radseal never writes/],
    ['an attestation element outside its creator\'s block', (ds) => [...ds, str(tag(0x7fe1, 0x1104), 'LO', randomBytes(4).toString('hex'))], /\(7FE1,1104\) lies outside any private creator's block/],
    ['the capture block\'s element with the proxy\'s block', (ds) => [...ds, str(tag(0x0009, 0x1001), 'LO', 'PROXY-ROOM-5')], /\(0009,1001\) lies outside/],
  ];
  for (const [what, edit, problem] of cases) {
    const bytes = await changed(proxied, edit, true);
    const located = locateAttestation(readPart10(bytes).dataSet);
    assert.equal(located.problems.some((p) => problem.test(p)), true, `${what}: ${located.problems.join('; ')}`);
    const r = await verdictOf(bytes);
    // An ambiguous attestation is a malformed object (invalid), and the reasons say what is wrong with its place.
    assert.equal(r.verdict, 'invalid', `${what}: ${r.reasons.join('; ')}`);
    assert.equal(r.capture, null, `${what}: no attestation is read from it`);
    assert.ok(r.reasons.some((x) => problem.test(x)), `${what}: ${r.reasons.join('; ')}`);
  }
  // The controls: re-signed unchanged, the same path gives authentic (the refusals above are the rule's);
  // and the received-object block at (0009,0010), where the proxy wrote it before, is read there.
  assert.equal((await verdictOf(await changed(proxied, (ds) => ds, true))).verdict, 'authentic');
  const before = await verdictOf(await changed(proxied, (ds) => [...ds.filter((e) => !inBlock(0x7fe1, 0x10)(e)), ...movedTo(ours(ds), 0x0009, 0x10)], true));
  assert.equal(before.verdict, 'authentic', before.reasons.join('; '));
  assert.match(JSON.stringify(before.capture), /received from the modality by DICOM/);
});

