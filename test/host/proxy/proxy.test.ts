// The sealing proxy between real peers: DCMTK storescu / dcmsend as the
// modality, radseal's proxy, DCMTK storescp as PACS. Every SOP class and
// transfer syntax the proxy takes arrives sealed and authentic (radseal verify,
// the CLI), with every attribute the modality wrote unchanged (dcmdump before and
// after) and the pixels bit-exact; what it cannot seal whole is refused with a
// failure status and an Error Comment, and nothing of it is stored.
// Network: run inside a private namespace (see docs/CONTRIBUTING.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxyService } from '../../../host/proxy/service.js';
import { generateDeviceKey } from '../../../host/keys/provision.js';
import { loadDeviceIdentity } from '../../../host/seal/device.js';
import { readPart10 } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { decodeString } from '../../../host/dicom/values.js';
import { readAttestation } from '../../../host/dicom/attestation.js';
import { TAGS } from '../../../host/dicom/mac.js';
import { SIG } from '../../../host/dicom/signatures.js';
import { freePort, startStoreScp, type StoreScp } from '../net/storescp.js';
import { PYTHON, radseal, run, tempDir } from '../support/run.js';
import { makeIdentities } from '../dicom/fixtures.js';
import { attributeLines, dcmsend, dumpBlocks, filesIn, makeObjects, makeVariants, pixelBytesOf, sopInstanceUidOf, startProxyToStoreScp, storescu, waitFor, type Variants } from './fixtures.js';

const dir = tempDir('radseal-proxy-');
let natives: string[] = [];
let variants: Variants;
let pacs: StoreScp;
let proxy: ProxyService;
let proxyPort = 0;
let deviceCert = '';
const logs: string[] = [];

before(async () => {
  natives = makeObjects(join(dir, 'native'));
  mkdirSync(join(dir, 'variants'));
  variants = makeVariants(join(dir, 'native'), join(dir, 'variants'));
  ({ cert: deviceCert, pacs, proxy, port: proxyPort } = await startProxyToStoreScp(dir, 'PROXY-ROOM-1', logs));
});

after(async () => {
  await proxy?.stop();
  await pacs?.stop();
});

/** Only these top-level elements may be added by the seal: the attestation block (after Pixel Data, the first block of 7FE1) and the signatures. */
const addedByTheSeal = (t: string) => t === '7fe1,0010' || /^7fe1,10[0-9a-f]{2}$/.test(t) || t === '4ffe,0001' || t === 'fffa,fffa';

function arrivedFor(original: string): string {
  const uid = sopInstanceUidOf(original);
  const found = filesIn(pacs.dir).filter((f) => f.includes(uid));
  assert.equal(found.length, 1, `${original}: exactly one copy at PACS`);
  return found[0]!;
}

function assertSealedCopyOf(original: string, arrived: string, encoding: 'NATIVE' | 'ENCAPSULATED'): void {
  const before = dumpBlocks(attributeLines(original));
  const afterSeal = dumpBlocks(attributeLines(arrived));
  for (const [t, block] of before) assert.equal(afterSeal.get(t), block, `${original}: element (${t}) changed by the proxy`);
  const added = [...afterSeal.keys()].filter((t) => !before.has(t));
  assert.deepEqual(added.filter((t) => !addedByTheSeal(t)), [], `${original}: the proxy added elements beyond the seal`);
  assert.ok(pixelBytesOf(arrived).equals(pixelBytesOf(original)), `${original}: pixels bit-exact (no watermark key given)`);
  const parsed = readPart10(readFileSync(arrived));
  const a = readAttestation(parsed.dataSet);
  assert.ok(a?.received, `${original}: format 2 attestation`);
  assert.equal(a.formatVersion, '2');
  assert.equal(a.received.source, 'received from the modality by DICOM');
  assert.equal(a.received.callingAeTitle, 'MODALITY1');
  assert.equal(a.received.peerAddress, '127.0.0.1');
  assert.equal(a.received.pixelEncoding, encoding);
  assert.equal(a.received.numberOfFrames, Number(decodeString(findElement(parsed.dataSet, tag(0x0028, 0x0008))?.value) || 1));
}

function verifyAll(files: string[]): void {
  const v = radseal('verify', '--trust', deviceCert, '--json', ...files);
  assert.equal(v.code, 0, `radseal verify: every object authentic\n${v.stdout}${v.stderr}`);
}

test('every SOP class, single- and multi-frame, For Presentation and For Processing, sent Explicit VR LE: sealed, authentic, attributes and pixels unchanged', async () => {
  // What the audit trail is handed after the answer is the object as received, though its file was sealed in its buffer.
  const answered = new Map<string, Uint8Array>();
  proxy.onAnswered = (obj) => answered.set(obj.sopInstanceUid, Buffer.from(obj.dataSet));
  const r = await storescu(proxyPort, natives);
  proxy.onAnswered = null;
  assert.equal(r.code, 0, r.out);
  await waitFor('all objects at PACS', () => filesIn(pacs.dir).length >= natives.length);
  // Every one of them hashed while its fragments arrived (and sealed authentic below: the same hashes),
  // and its sealed file encoded around the received pixels without copying them.
  assert.equal(proxy.stats.hashedOnArrival, natives.length);
  assert.equal(proxy.stats.encodedInPlace, natives.length);
  // The device signature's SHA-512 MAC too, predicted when the pixels started and checked by the seal.
  assert.equal(proxy.stats.macOnArrival, natives.length);
  assert.equal(proxy.stats.macMissed, 0);
  for (const f of natives) {
    const sent = readFileSync(f);
    const seen = answered.get(sopInstanceUidOf(f));
    assert.ok(seen, f);
    assert.ok(Buffer.from(seen).equals(sent.subarray(sent.length - seen.length)), `${f}: the data set as received, after the seal`);
  }
  const arrived = natives.map(arrivedFor);
  verifyAll(arrived);
  natives.forEach((f, i) => assertSealedCopyOf(f, arrived[i]!, 'NATIVE'));
  // The outbox copy keeps the modality's AE as Source AE Title in its meta header (PACS writes its own).
  await waitFor('the outbox to record every delivery', () => filesIn(join(dir, 'outbox', 'sent')).length >= natives.length);
  const queued = filesIn(join(dir, 'outbox', 'sent'));
  const meta = readPart10(readFileSync(queued[0]!)).meta;
  assert.equal(decodeString(findElement(meta, tag(0x0002, 0x0016))?.value), 'MODALITY1');
  // The multi-frame 16-bit object has a tile table per frame.
  const rf = readAttestation(readPart10(readFileSync(arrivedFor(natives.find((f) => f.endsWith('rf-multi.dcm'))!))).dataSet)!;
  assert.equal(rf.tiles!.hashes.length, 3 * 2 * 2 * 32, '3 frames of 2x2 tiles (96x128 px, 64 px tiles)');
});

test('Implicit VR Little Endian: VRs from the dictionary, sealed and written Explicit VR LE, authentic', async () => {
  const hashedBefore = proxy.stats.hashedOnArrival;
  const macBefore = proxy.stats.macOnArrival;
  const r = await storescu(proxyPort, variants.implicit, ['-xi']);
  assert.equal(r.code, 0, r.out);
  await waitFor('implicit objects sealed', () => proxy.stats.hashedOnArrival - hashedBefore === variants.implicit.length);
  // Implicit VR too: the elements before the pixels given their VRs by the same transformation as the seal's.
  assert.equal(proxy.stats.macOnArrival - macBefore, variants.implicit.length);
  assert.equal(proxy.stats.macMissed, 0);
  await waitFor('implicit objects at PACS', () => variants.implicit.every((f) => filesIn(pacs.dir).some((p) => p.includes(sopInstanceUidOf(f)))));
  const arrived = variants.implicit.map(arrivedFor);
  verifyAll(arrived);
  for (const a of arrived) assert.equal(readPart10(readFileSync(a)).transferSyntaxUid, '1.2.840.10008.1.2.1');
  variants.implicit.forEach((f, i) => assertSealedCopyOf(f, arrived[i]!, 'NATIVE'));
});

test('encapsulated JPEG Lossless, JPEG-LS, RLE (multi-frame) and JPEG 2000: the stream sealed as received, authentic, and verify says so', async () => {
  const r = await dcmsend(proxyPort, variants.encapsulated);
  assert.equal(r.code, 0, r.out);
  await waitFor('encapsulated objects at PACS', () => variants.encapsulated.every((f) => filesIn(pacs.dir).some((p) => p.includes(sopInstanceUidOf(f)))));
  const arrived = variants.encapsulated.map(arrivedFor);
  verifyAll(arrived);
  for (const original of variants.encapsulated) {
    const ts = readPart10(readFileSync(original)).transferSyntaxUid;
    const copy = arrivedFor(original);
    assert.equal(readPart10(readFileSync(copy)).transferSyntaxUid, ts, 'kept in the transfer syntax it arrived in');
    assertSealedCopyOf(original, copy, 'ENCAPSULATED');
  }
  const text = radseal('verify', '--trust', deviceCert, arrived[0]!);
  assert.match(text.stdout, /the seal covers the encapsulated .* stream as received \(compressed bytes sealed unchanged; no watermark, no tile table\)/);
});

test('refused with a failure status and Error Comment, nothing stored: Big Endian, Implicit VR private elements without a VR, UN elements', async () => {
  const sealedBefore = filesIn(join(dir, 'outbox', 'sent')).length + filesIn(join(dir, 'outbox', 'ready')).length;
  // -d: storescu prints the whole response, Status (0000,0900) and Error Comment (0000,0902) included.
  const big = await storescu(proxyPort, [variants.bigEndian], ['-R', '-d']);
  assert.match(big.out, /DIMSE Status\s+: 0xc000: Error: Cannot understand/);
  assert.match(big.out, /\(0000,0902\) LO \[radseal: transfer syntax 1\.2\.840\.10008\.1\.2\.2 not sealed/);
  const priv = await storescu(proxyPort, [variants.implicitWithPrivate], ['-xi', '-d']);
  assert.match(priv.out, /DIMSE Status\s+: 0xc000: Error: Cannot understand/);
  assert.match(priv.out, /\(0000,0902\) LO \[radseal: VR unknown for \(0019,1001\)/);
  // DCMTK converting the same file to Explicit VR writes the private elements as UN.
  const un = await storescu(proxyPort, [variants.implicitWithPrivate], ['-d']);
  assert.match(un.out, /\(0000,0902\) LO \[radseal: UN element \(0019,1001\) cannot be signed/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(filesIn(join(dir, 'outbox', 'sent')).length + filesIn(join(dir, 'outbox', 'ready')).length, sealedBefore, 'nothing stored');
  for (const f of [variants.bigEndian, variants.implicitWithPrivate]) assert.ok(!filesIn(pacs.dir).some((p) => p.includes(sopInstanceUidOf(f))), 'nothing forwarded');
  assert.ok(logs.some((l) => l.includes('refused (status C000H)')));
});

test('an object that already carries digital signatures is forwarded untouched, never re-sealed', async () => {
  const sealed = filesIn(join(dir, 'outbox', 'sent'))[0]!;
  // A signed object a fresh proxy (its own outbox) has never seen: the first proxy's output.
  const second = new ProxyService({
    host: '127.0.0.1', port: 0, aeTitle: 'RADPROXY', device: loadDeviceIdentity(join(dir, 'keys', 'device.key'), deviceCert, 'dicom-proxy'),
    outboxDir: join(dir, 'outbox2'), log: () => {},
  });
  const port = await second.start();
  try {
    const copy = join(dir, 'signed.dcm');
    writeFileSync(copy, readFileSync(sealed));
    const r = await storescu(port, [copy]);
    assert.equal(r.code, 0, r.out);
    await waitFor('the signed object in the second outbox', () => filesIn(join(dir, 'outbox2', 'ready')).length === 1);
    const kept = readPart10(readFileSync(filesIn(join(dir, 'outbox2', 'ready'))[0]!));
    const original = readPart10(readFileSync(copy));
    const body = (p: ReturnType<typeof readPart10>, bytes: Buffer) => bytes.subarray(p.dataSetOffset);
    assert.ok(body(kept, readFileSync(filesIn(join(dir, 'outbox2', 'ready'))[0]!)).equals(body(original, readFileSync(copy))), 'data set bytes untouched');
    assert.equal(second.stats.alreadySigned, 1);
    assert.equal(second.stats.sealed, 0);
  } finally {
    await second.stop();
  }
});

test('with the site watermark: marked, with a tile table, the received buffer left as received (the marked pixels are a buffer of the seal), authentic', async () => {
  const dx = natives.find((f) => f.endsWith('dx-pres.dcm'))!;
  const marking = new ProxyService({
    host: '127.0.0.1', port: 0, aeTitle: 'RADPROXY', device: loadDeviceIdentity(join(dir, 'keys', 'device.key'), deviceCert, 'dicom-proxy'),
    outboxDir: join(dir, 'outbox-wm'), watermarkKey: new Uint8Array(32).fill(7), log: () => {},
  });
  const port = await marking.start();
  try {
    const r = await storescu(port, [dx]);
    assert.equal(r.code, 0, r.out);
    await waitFor('the marked object in the outbox', () => filesIn(join(dir, 'outbox-wm', 'ready')).length === 1);
    const file = filesIn(join(dir, 'outbox-wm', 'ready'))[0]!;
    const att = readAttestation(readPart10(readFileSync(file)).dataSet)!;
    assert.ok(att.watermark, 'marked');
    assert.ok(att.tiles, 'tile table');
    assert.equal(marking.stats.hashedOnArrival, 1, 'the pixels as received hashed on arrival');
    assert.equal(marking.stats.encodedInPlace, 0, 'marked pixels are a buffer of the seal: the received one is not written over');
    assert.equal(marking.stats.macOnArrival + marking.stats.macMissed, 0, 'no MAC on arrival: the pixels signed are the marked ones');
    verifyAll([file]);
  } finally {
    await marking.stop();
  }
});

test('the MAC on arrival through the service: a technologist logged out before the seal is a counted miss (sealed the ordinary way); a modality block after Pixel Data is no obstacle; both authentic', async () => {
  const ids = await makeIdentities(join(dir, 'ids'), 'PROXY-ROOM-1', 'tech042');
  const unnamed = join(dir, 'variants', 'cr-unnamed.dcm');
  const vendor = join(dir, 'variants', 'dx-7fe1.dcm');
  const py = run(PYTHON, ['-c', `import pydicom, sys
ds = pydicom.dcmread(sys.argv[1]); ds.OperatorsName = ''; ds.SOPInstanceUID = pydicom.uid.generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID; ds.save_as(sys.argv[2])
ds = pydicom.dcmread(sys.argv[3]); ds.SOPInstanceUID = pydicom.uid.generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.add_new(0x7FE10010, 'LO', 'VENDOR AFTER PIXELS'); ds.add_new(0x7FE11001, 'OB', bytes(8)); ds.save_as(sys.argv[4])`,
  natives.find((f) => f.endsWith('cr.dcm'))!, unnamed, natives.find((f) => f.endsWith('dx-pres.dcm'))!, vendor]);
  assert.equal(py.code, 0, py.stderr);
  // Logged in when the pixels start (the digester asks first), logged out when the seal asks.
  let asked = 0;
  const switching = new ProxyService({
    host: '127.0.0.1', port: 0, aeTitle: 'RADPROXY', device: loadDeviceIdentity(join(dir, 'keys', 'device.key'), deviceCert, 'dicom-proxy'),
    outboxDir: join(dir, 'outbox-mac'), log: () => {}, technologist: () => (asked++ % 2 === 0 ? ids.technologist : undefined),
  });
  const port = await switching.start();
  try {
    for (const f of [unnamed, vendor]) assert.equal((await storescu(port, [f])).code, 0);
    await waitFor('both sealed', () => switching.stats.sealed === 2);
    assert.equal(switching.stats.macMissed, 1, 'the operator attributes hashed on arrival are not in the object sealed');
    // The vendor object names its own operator (Tech^Tom): nothing is added either time, so its prediction holds.
    assert.equal(switching.stats.macOnArrival, 1, 'the vendor block after the pixels: fed to the MAC by the seal');
    const files = filesIn(join(dir, 'outbox-mac', 'ready'));
    verifyAll(files);
    const blocksOf = files.map((f) => readAttestation(readPart10(readFileSync(f)).dataSet)!.block);
    assert.deepEqual(blocksOf.sort((a, b) => a!.block - b!.block), [{ group: 0x7fe1, block: 0x10 }, { group: 0x7fe1, block: 0x11 }]);
  } finally {
    await switching.stop();
  }
});

test('a device with an ECDSA key too: its signature takes the one SHA-512 MAC hashed on arrival; DCMTK dcmsign --verify OK', async () => {
  const ids = await makeIdentities(join(dir, 'ids-ec'), 'PROXY-ROOM-1', 'tech042');
  const ecdsa = new ProxyService({ host: '127.0.0.1', port: 0, aeTitle: 'RADPROXY', device: ids.deviceWithEcdsa, outboxDir: join(dir, 'outbox-ec'), log: () => {} });
  const port = await ecdsa.start();
  try {
    assert.equal((await storescu(port, [natives.find((f) => f.endsWith('mg-pres.dcm'))!])).code, 0);
    await waitFor('sealed', () => ecdsa.stats.sealed === 1);
    assert.equal(ecdsa.stats.macOnArrival, 1);
    const file = filesIn(join(dir, 'outbox-ec', 'ready'))[0]!;
    const v = radseal('verify', '--trust', ids.trustPem, file);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const d = run('dcmsign', ['--verify', '+cf', ids.certs.ecdsa, file]);
    assert.match(d.stdout + d.stderr, /Signature #3 UID=[\d.]+\nW: +Signature Verification : OK/, d.stdout + d.stderr);
    // Device (Ed25519), its attributes-only signature and the ECDSA one: all SHA-512, one pass over the pixels.
    const macItems = findElement(readPart10(readFileSync(file)).dataSet, TAGS.macParametersSequence)!.items!;
    assert.deepEqual(macItems.map((i) => decodeString(findElement(i, SIG.macAlgorithm)?.value)), ['SHA512', 'SHA512', 'SHA512']);
  } finally {
    await ecdsa.stop();
  }
});
