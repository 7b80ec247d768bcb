// Signatures whose MAC Parameters items were planned first (planMac, so the object's head is final
// before its pixels are hashed) are the signatures addSignature makes alone: the same MAC
// Parameters items, valid to the independent oracle (node:crypto over the whole MAC stream), and
// to DCMTK where the seal writes them. A plan that does not fit the signature is an internal
// error, never a signature over other elements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify as cryptoVerify } from 'node:crypto';
import { addSignature, checkSignatures, macDigest, planMac, PURPOSE, SIG } from '../../../host/dicom/signatures.js';
import { TAGS, signableTags } from '../../../host/dicom/mac.js';
import { decodeUS, str } from '../../../host/dicom/values.js';
import { encodeDataSet } from '../../../host/dicom/writer.js';
import { findElement, tag, type DataSet } from '../../../host/dicom/model.js';
import { parseCertificate } from '../../../host/keys/certs.js';
import { makeIdentities, tempDir } from './fixtures.js';

const PIXEL_DATA = tag(0x7fe0, 0x0010);

function dataSet(): DataSet {
  return [
    str(tag(0x0008, 0x0018), 'UI', '1.2.3.4.5'),
    str(tag(0x0010, 0x0010), 'PN', 'Test^Patient'),
    { tag: PIXEL_DATA, vr: 'OW', value: new Uint8Array(32 * 32 * 2).map((_, i) => (i * 31) & 0xff) },
  ];
}

const macItems = (ds: DataSet) => findElement(ds, TAGS.macParametersSequence)!.items!.map((i) => Buffer.from(encodeDataSet(i)));

test('planned MACs: the same MAC Parameters items as unplanned signatures, every signature valid to the oracle', async (t) => {
  const ids = await makeIdentities(tempDir(t));
  const plain = dataSet();
  const planned = dataSet();
  const all = signableTags(planned);
  const attributes = all.filter((t) => t !== PIXEL_DATA);
  const device = planMac(planned, all);
  const attrs = planMac(planned, attributes);
  const tech = planMac(planned, all);
  assert.deepEqual([device, attrs, tech], [1, 2, 3]);
  assert.equal(findElement(planned, TAGS.digitalSignaturesSequence), undefined, 'planning signs nothing');
  const sign = (ds: DataSet, who: 'device' | 'technologist', tags: number[], plannedMacId?: number) =>
    addSignature(ds, { signer: ids[who].signer, certificateDer: ids[who].certificateDer, purpose: who === 'device' ? PURPOSE.source : PURPOSE.author, signedTags: tags, plannedMacId });
  await sign(plain, 'device', all);
  await sign(plain, 'device', attributes);
  await sign(plain, 'technologist', all);
  await sign(planned, 'device', all, device);
  await sign(planned, 'device', attributes, attrs);
  await sign(planned, 'technologist', all, tech);
  assert.deepEqual(macItems(planned), macItems(plain));
  for (const item of findElement(planned, TAGS.digitalSignaturesSequence)!.items!) {
    const macId = decodeUS(findElement(item, SIG.macIdNumber)!.value)!;
    const tags = macId === attrs ? attributes : all;
    const { digest, missing } = macDigest(planned, tags, item, 'SHA512');
    const key = parseCertificate(findElement(item, TAGS.certificateOfSigner)!.value!).x509.publicKey;
    assert.equal(missing.length, 0);
    assert.ok(cryptoVerify(null, digest, key, findElement(item, TAGS.signature)!.value!), `signature of MAC ${macId}`);
  }
  assert.ok(checkSignatures(planned).every((c) => c.valid), 'radseal\'s own check agrees');
});

test('a plan that does not fit the signature is refused: other elements, another algorithm, taken, or none', async (t) => {
  const ids = await makeIdentities(tempDir(t));
  const ds = dataSet();
  const all = signableTags(ds);
  const macId = planMac(ds, all.filter((t) => t !== PIXEL_DATA));
  const opts = { signer: ids.device.signer, certificateDer: ids.device.certificateDer, purpose: PURPOSE.source };
  await assert.rejects(addSignature(ds, { ...opts, signedTags: all, plannedMacId: macId }), /was not planned for this signature/);
  await assert.rejects(addSignature(ds, { ...opts, signedTags: all.filter((t) => t !== PIXEL_DATA), macAlgorithm: 'SHA256', plannedMacId: macId }), /was not planned/);
  await assert.rejects(addSignature(ds, { ...opts, signedTags: all, plannedMacId: 7 }), /was not planned/);
  await addSignature(ds, { ...opts, signedTags: all.filter((t) => t !== PIXEL_DATA), plannedMacId: macId });
  await assert.rejects(addSignature(ds, { ...opts, signedTags: all.filter((t) => t !== PIXEL_DATA), plannedMacId: macId }), /was not planned/, 'a plan is used once');
  assert.equal(findElement(ds, TAGS.macParametersSequence)!.items!.length, 1);
  assert.equal(findElement(ds, TAGS.digitalSignaturesSequence)!.items!.length, 1);
});
