// The device signature's SHA-512 MAC hashed while the pixels arrive (host/proxy/stream-digest.ts
// with host/proxy/sealable.ts predictMac), as the SCP hands the fragments over, then sealed by
// sealReceived: the prediction is used only when it holds, and the object verifies authentic either
// way (radseal's verifier, and DCMTK dcmsign --verify for the ECDSA signature). The attestation lies
// after Pixel Data, in the first free block of 7FE1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSetDigester } from '../../../host/proxy/stream-digest.js';
import { sealReceived, type SealOutcome } from '../../../host/proxy/seal-received.js';
import { Refusal } from '../../../host/proxy/refusal.js';
import { readPart10, readPart10Meta } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { DEFAULT_POLICY } from '../../../host/ingest/policy.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import type { TechnologistIdentity } from '../../../host/seal/seal.js';
import { makeIdentities, run } from '../dicom/fixtures.js';
import { PYTHON, tempDir } from '../support/run.js';
import { makeObjects } from './fixtures.js';

const dir = tempDir('radseal-proxy-mac-');

async function setUp() {
  const natives = makeObjects(join(dir, 'native'), 160, 192);
  const ids = await makeIdentities(join(dir, 'ids'), 'PROXY-ROOM-4', 'tech042');
  return { natives, ids, trust: parseCertificates(readFileSync(ids.trustPem)) };
}
const ready = setUp();
const native = async (name: string) => (await ready).natives.find((f) => f.endsWith(name))!;

/**
 * `file` as the proxy gets it: its data set through the digester in uneven pieces (as P-DATA
 * fragments come), the technologist `atArrival` logged in then, then sealed with `atSeal`.
 */
async function arriveAndSeal(file: string, o: { atArrival?: TechnologistIdentity; atSeal?: TechnologistIdentity; ecdsa?: boolean; watermarkKey?: Uint8Array;
  tamper?: (mac: NonNullable<Awaited<ReturnType<DataSetDigester['finish']>>['pixels']>['mac']) => void } = {}) {
  const { ids } = await ready;
  const part10 = readFileSync(file);
  const head = readPart10Meta(part10);
  const d = new DataSetDigester(head.transferSyntaxUid, 64, { technologist: () => o.atArrival });
  const body = part10.subarray(head.dataSetOffset);
  const sizes = [1, 7, 300, 16384, 65536, 3];
  for (let i = 0, k = 0; i < body.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, body.length - i);
    d.update(body.subarray(i, i + n));
    i += n;
  }
  const digest = await d.finish();
  if (o.tamper) o.tamper(digest.pixels?.mac);
  const out = await sealReceived(
    { part10, callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 900, streamed: digest.pixels && { pixels: digest.pixels, dataSetOffset: head.dataSetOffset } },
    { device: o.ecdsa ? ids.deviceWithEcdsa : ids.device, technologist: o.atSeal, watermarkKey: o.watermarkKey },
  );
  assert.equal(out.kind, 'sealed');
  return out as Extract<SealOutcome, { kind: 'sealed' }>;
}

async function assertAuthentic(out: Extract<SealOutcome, { kind: 'sealed' }>, what: string, policy = DEFAULT_POLICY) {
  const { trust } = await ready;
  const report = verifyObject(`${what}.dcm`, out.bytes, trust, { policy });
  assert.equal(report.verdict, 'authentic', `${what}: ${report.reasons.join('; ')}`);
  const a = readAttestation(readPart10(out.bytes).dataSet);
  assert.equal(a?.received?.source, 'received from the modality by DICOM', what);
  return a!;
}

/** A copy of `file` changed by a few lines of pydicom (`ds` is the data set). */
function withPydicom(file: string, out: string, code: string): string {
  const r = run(PYTHON, ['-c', `import pydicom\nfrom pydicom.dataset import Dataset\nds = pydicom.dcmread(${JSON.stringify(file)})\n${code}\nds.save_as(${JSON.stringify(out)})`]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

test('explicit VR, multi-frame, and Implicit VR with group lengths: the MAC hashed on arrival, authentic, the attestation at (7FE1,0010) after Pixel Data', async () => {
  const { ids } = await ready;
  const policy = { ...DEFAULT_POLICY, requireTechnologistSignature: true };
  const unnamed = withPydicom(await native('dx-pres.dcm'), join(dir, 'dx-unnamed.dcm'), "ds.OperatorsName = ''");
  const implicit = join(dir, 'rf-implicit-group-lengths.dcm');
  // Implicit VR, group length elements written, sequences of undefined length: what the seal drops and converts, the prediction must too.
  // (No operator named, and without the vendor's private block: Implicit VR would lose its VRs, and the proxy refuses that.)
  const rf = withPydicom(await native('rf-multi.dcm'), join(dir, 'rf-no-private.dcm'), "ds.OperatorsName = ''\nfor t in (0x00190010, 0x00191001, 0x00191002):\n  if t in ds: del ds[t]");
  const c = run('dcmconv', ['+ti', '+g', '-e', rf, implicit]);
  assert.equal(c.status, 0, c.stderr);
  assert.ok(findElement(readPart10(readFileSync(implicit)).dataSet, tag(0x0028, 0x0000)), 'the fixture has group lengths');
  for (const file of [unnamed, implicit]) {
    const tech = ids.technologist;
    const out = await arriveAndSeal(file, { atArrival: tech, atSeal: tech });
    assert.equal(out.macOnArrival, 'streamed', `${file}: ${out.notes.join('; ')}`);
    assert.equal(out.hashedOnArrival, true);
    assert.equal(out.coSignedBy, 'tech042', 'the technologist co-signs over the same MAC');
    const a = await assertAuthentic(out, file, policy);
    assert.deepEqual(a.block, { group: 0x7fe1, block: 0x10 });
    const ds = readPart10(out.bytes).dataSet;
    assert.equal(decodeString(findElement(ds, tag(0x7fe1, 0x0010))?.value), 'RADSEAL 1.0');
    assert.equal(findElement(ds, tag(0x0009, 0x0010)), undefined, 'nothing at (0009,0010)');
    const pixelsAt = ds.findIndex((e) => e.tag === tag(0x7fe0, 0x0010));
    assert.ok(ds.slice(pixelsAt + 1).some((e) => e.tag === tag(0x7fe1, 0x1009)), 'the tile table after the pixels');
  }
});

test('device + ECDSA: DCMTK dcmsign --verify finds the ECDSA signature OK over an object whose Ed25519 MAC was hashed on arrival', async () => {
  const { ids } = await ready;
  const out = await arriveAndSeal(await native('cr.dcm'), { ecdsa: true });
  assert.equal(out.macOnArrival, 'streamed');
  await assertAuthentic(out, 'cr-ecdsa');
  const file = join(dir, 'cr-ecdsa.dcm');
  writeFileSync(file, out.bytes);
  const v = run('dcmsign', ['--verify', '+cf', ids.certs.ecdsa, file], { cwd: dir });
  // Signatures 1-2 are Ed25519 (unreadable to DCMTK 3.6.7, exit 101), 3 the ECDSA one.
  assert.match(v.stdout + v.stderr, /Signature #3 UID=[\d.]+\nW: +Signature Verification : OK/, v.stdout + v.stderr);
});

test('when the prediction does not hold the seal hashes afresh, and the object is authentic all the same', async () => {
  const { ids } = await ready;
  const unnamed = withPydicom(await native('io-pres.dcm'), join(dir, 'io-unnamed.dcm'), "ds.OperatorsName = ''");
  // Logged in when the pixels came, logged out by the seal: the operator attributes hashed are not in the object.
  const loggedOut = await arriveAndSeal(unnamed, { atArrival: ids.technologist });
  assert.equal(loggedOut.macOnArrival, 'missed');
  assert.match(loggedOut.notes.join(' '), /elements before Pixel Data are not the ones hashed on arrival/);
  assert.equal(loggedOut.coSignedBy, undefined);
  await assertAuthentic(loggedOut, 'logged-out');
  // Hashed bytes that are not what the seal signs (as if the digester had erred): caught, hashed afresh.
  const wrong = await arriveAndSeal(await native('mg-pres.dcm'), { tamper: (mac) => { mac!.elementsBefore[20]! ^= 1; } });
  assert.equal(wrong.macOnArrival, 'missed');
  await assertAuthentic(wrong, 'wrong-prediction');
  const wrongVr = await arriveAndSeal(await native('mg-pres.dcm'), { tamper: (mac) => { mac!.pixelVr = mac!.pixelVr === 'OW' ? 'OB' : 'OW'; } });
  assert.equal(wrongVr.macOnArrival, 'missed');
  await assertAuthentic(wrongVr, 'wrong-vr');
  // The modality names another operator: the same both times (no co-signature, nothing added), so the MAC holds.
  const named = await arriveAndSeal(await native('cr.dcm'), { atArrival: ids.technologist, atSeal: ids.technologist });
  assert.equal(named.macOnArrival, 'streamed');
  assert.equal(named.coSignedBy, undefined);
  await assertAuthentic(named, 'named-operator');
  // With the site mark the signed pixels are not the ones that arrived: no MAC on arrival.
  const marked = await arriveAndSeal(await native('dx-proc.dcm'), { watermarkKey: new Uint8Array(32).fill(9) });
  assert.equal(marked.watermarked, true);
  assert.equal(marked.macOnArrival, 'none');
  await assertAuthentic(marked, 'marked');
});

test("a modality's private block after Pixel Data at (7FE1,0010), and trailing padding: kept and dropped, the attestation takes (7FE1,0011), the MAC still hashed on arrival, authentic", async () => {
  const vendor = withPydicom(await native('dx-pres.dcm'), join(dir, 'dx-7fe1.dcm'), `ds.add_new(0x7FE10010, 'LO', 'SIEMENS CSA NON-IMAGE')
ds.add_new(0x7FE11010, 'OB', bytes(range(16)))
ds.add_new(0xFFFCFFFC, 'OB', bytes(6))`);
  const out = await arriveAndSeal(vendor);
  assert.equal(out.macOnArrival, 'streamed', out.notes.join('; '));
  const a = await assertAuthentic(out, 'vendor-7fe1');
  assert.deepEqual(a.block, { group: 0x7fe1, block: 0x11 });
  const ds = readPart10(out.bytes).dataSet;
  assert.equal(decodeString(findElement(ds, tag(0x7fe1, 0x0010))?.value), 'SIEMENS CSA NON-IMAGE');
  assert.deepEqual([...findElement(ds, tag(0x7fe1, 0x1010))!.value!], [...Array(16).keys()]);
  assert.equal(decodeString(findElement(ds, tag(0x7fe1, 0x1101))?.value), 'PROXY-ROOM-4');
  assert.equal(findElement(ds, tag(0xfffc, 0xfffc)), undefined, 'padding is encoding, not image: dropped');
});

test('refused, never half-sealed: a received object already holding a RADSEAL block (unsigned) or a private element of 7FE1 in no block', async () => {
  for (const [name, code] of [
    ['radseal-block', "ds.add_new(0x00090010, 'LO', 'RADSEAL 1.0')\nds.add_new(0x00091001, 'LO', 'SOMEONE')"],
    ['orphan', "ds.add_new(0x7FE11001, 'LO', 'WHOSE')"],
  ] as const) {
    const file = withPydicom(await native('cr.dcm'), join(dir, `${name}.dcm`), code);
    await assert.rejects(arriveAndSeal(file), (err: unknown) => {
      assert.ok(err instanceof Refusal, String(err));
      assert.equal(err.comment, 'radseal: private blocks of 0009/7FE1 ambiguous (see log)');
      assert.match(err.reason, name === 'orphan' ? /\(7FE1,1001\) lies outside any private creator's block/ : /occurs 2 times/);
      return true;
    });
  }
});
