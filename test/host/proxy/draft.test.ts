// The sealed file's pixels written to the outbox while they arrive (host/proxy/pixel-draft.ts,
// Outbox.putDraft): with storescu as the modality, what lands in ready/ is byte for byte what put()
// writes for the same sealed object, and authentic; a head that changed between the pixels' start and
// the seal (the technologist logged out meanwhile) or a draft write that fails falls back to put()
// and still seals authentic; a draft not used (those cases, a duplicate) leaves nothing in tmp/. Plus
// DraftFile on its own, and the head length the dry run predicts against the seal's for every SOP class.
// Network: run inside a private namespace (see docs/CONTRIBUTING.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ProxyService } from '../../../host/proxy/service.js';
import { DataSetDigester } from '../../../host/proxy/stream-digest.js';
import { sealedHeadLength, sealReceived } from '../../../host/proxy/seal-received.js';
import { readPart10, readPart10Meta } from '../../../host/dicom/reader.js';
import { findElement, tag } from '../../../host/dicom/model.js';
import { Outbox } from '../../../host/net/outbox.js';
import { verifyObject } from '../../../host/ingest/verify.js';
import { DEFAULT_POLICY } from '../../../host/ingest/policy.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import type { TechnologistIdentity } from '../../../host/seal/seal.js';
import { makeIdentities } from '../dicom/fixtures.js';
import { PYTHON, run, tempDir } from '../support/run.js';
import { makeObjects, pixelBytesOf, storescu, tool } from './fixtures.js';

const dir = tempDir('radseal-proxy-draft-');
const services: ProxyService[] = [];
after(async () => {
  for (const s of services) await s.stop();
});

const ready = (async () => {
  const natives = makeObjects(join(dir, 'native'), 160, 192);
  const ids = await makeIdentities(join(dir, 'ids'), 'PROXY-ROOM-7', 'tech042');
  return { natives, ids, trust: parseCertificates(readFileSync(ids.trustPem)) };
})();

async function proxy(name: string, technologist?: () => TechnologistIdentity | undefined, allowedCallers?: string[], watermarkKey?: Uint8Array) {
  const { ids } = await ready;
  const logs: string[] = [];
  const svc = new ProxyService({ host: '127.0.0.1', port: 0, aeTitle: 'RADPROXY', device: ids.device, outboxDir: join(dir, name), technologist, allowedCallers, watermarkKey, log: (m) => logs.push(m) });
  services.push(svc);
  // What put() would have written for each object completed from its draft: the same pieces, through put().
  const twin = new Outbox(join(dir, `${name}-twin`));
  const pieces = new Map<string, { head: Buffer; tail: Buffer; length: number }>();
  const putDraft = svc.outbox.putDraft.bind(svc.outbox);
  svc.outbox.putDraft = async (deviceId, serial, draft, rest, length) => {
    const [head, tail] = rest;
    const wanted = { head: Buffer.from(head!.bytes), tail: Buffer.from(tail!.bytes), length };
    const entry = await putDraft(deviceId, serial, draft, rest, length);
    if (entry) pieces.set(entry.name, wanted);
    return entry;
  };
  const port = await svc.start();
  return { svc, port, logs, twin, pieces, dir: join(dir, name) };
}

async function assertAuthentic(file: string): Promise<void> {
  const { trust } = await ready;
  const v = verifyObject(file, readFileSync(file), trust, { policy: DEFAULT_POLICY });
  assert.equal(v.verdict, 'authentic', `${file}: ${v.reasons.join('; ')}`);
}

const inReady = (d: string) => readdirSync(join(d, 'ready')).sort().map((f) => join(d, 'ready', f));
const inTmp = (d: string) => readdirSync(join(d, 'tmp'));

test('pixels written on arrival: the file is byte for byte what put() writes, authentic; a duplicate leaves nothing in tmp/', { timeout: 120000 }, async () => {
  const { natives } = await ready;
  const p = await proxy('outbox-a');
  const files = natives.slice(0, 4);
  const r = await storescu(p.port, files);
  assert.equal(r.code, 0, r.out);
  const sealed = inReady(p.dir);
  assert.equal(sealed.length, files.length);
  // Every object, the first after a start too (the SCP tells the digester the calling AE, which the meta holds).
  assert.equal(p.svc.stats.writtenOnArrival, files.length, p.logs.join('\n'));
  assert.equal(p.svc.stats.writeMissed, 0, p.logs.join('\n'));
  assert.equal(p.pieces.size, files.length);
  for (const [i, file] of sealed.entries()) {
    const name = file.slice(file.lastIndexOf('/') + 1);
    const rest = p.pieces.get(name);
    if (!rest) continue;
    // put() of the same sealed object (its head, the pixels the modality sent, its tail) writes the same file.
    const serial = Number(/-(\d+)\.dcm$/.exec(name)![1]);
    const twin = p.twin.put('PROXY-ROOM-7', serial, [rest.head, pixelBytesOf(files[i]!), rest.tail]);
    assert.equal(statSync(file).size, rest.length);
    assert.ok(readFileSync(twin.path).equals(readFileSync(file)), `${name}: not what put() writes`);
    assert.equal(statSync(file).mode & 0o777, statSync(twin.path).mode & 0o777);
  }
  for (const [i, f] of sealed.entries()) {
    await assertAuthentic(f);
    assert.ok(pixelBytesOf(f).equals(pixelBytesOf(files[i]!)), `${f}: pixels bit-exact`);
  }
  assert.deepEqual(inTmp(p.dir), []);
  // The same objects again: already sealed, answered without a second seal; their drafts removed.
  const again = await storescu(p.port, files);
  assert.equal(again.code, 0, again.out);
  assert.equal(p.svc.stats.duplicates, files.length);
  assert.equal(inReady(p.dir).length, files.length);
  assert.deepEqual(inTmp(p.dir), []);
});

test('with an allow-list: written on arrival as without one', { timeout: 120000 }, async () => {
  const { natives } = await ready;
  const p = await proxy('outbox-c', undefined, ['MODALITY1@127.0.0.1']);
  const files = natives.slice(0, 2);
  const r = await storescu(p.port, files);
  assert.equal(r.code, 0, r.out);
  assert.equal(p.svc.stats.writtenOnArrival, files.length, p.logs.join('\n'));
  for (const f of inReady(p.dir)) await assertAuthentic(f);
  assert.deepEqual(inTmp(p.dir), []);
});

test('with the site watermark: the marked pixels go to the draft before the seal is done, every file authentic; objects the mark does not apply to are put whole', { timeout: 120000 }, async () => {
  const { natives } = await ready;
  const p = await proxy('outbox-wm', undefined, undefined, randomBytes(32));
  const r = await storescu(p.port, natives);
  assert.equal(r.code, 0, r.out);
  const sealedLines = p.logs.filter((l) => / sealed \(/.test(l));
  assert.equal(sealedLines.length, natives.length, p.logs.join('\n'));
  const marked = sealedLines.filter((l) => l.includes(', watermarked')).length;
  assert.ok(marked >= 3, `at least three 16-bit monochrome objects marked: ${p.logs.join('\n')}`);
  assert.ok(marked < natives.length, 'the set holds objects the mark does not apply to as well');
  // Each marked object went through its draft; the others were put whole, with no draft missed.
  assert.equal(p.svc.stats.writtenOnArrival, marked, p.logs.join('\n'));
  assert.equal(p.svc.stats.writeMissed, 0, p.logs.join('\n'));
  assert.ok(!p.logs.some((l) => l.includes('not used')), p.logs.join('\n'));
  // The signatures' MAC was hashed over the marked pixels in memory; the draft wrote them to disk on the thread pool:
  // authentic (the tile table recomputed too) means the file holds exactly the pixels hashed.
  const { trust } = await ready;
  for (const f of inReady(p.dir)) {
    const v = verifyObject(f, readFileSync(f), trust, { policy: DEFAULT_POLICY, fullPixelCheck: true });
    assert.equal(v.verdict, 'authentic', `${f}: ${v.reasons.join('; ')}`);
  }
  assert.deepEqual(inTmp(p.dir), []);
});

test('a draft whose write fails (the disk full, simulated): dropped, the object written whole by put() and authentic', { timeout: 120000 }, async () => {
  const { natives } = await ready;
  const p = await proxy('outbox-d', undefined, ['MODALITY1']);
  // Only the disk's answer is simulated: the draft's completion fails as a full disk makes it fail.
  const openDraft = p.svc.outbox.openDraft.bind(p.svc.outbox);
  p.svc.outbox.openDraft = () => {
    const draft = openDraft();
    draft.finish = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    return draft;
  };
  const files = natives.slice(0, 2);
  const r = await storescu(p.port, files);
  assert.equal(r.code, 0, r.out);
  assert.equal(p.svc.stats.writtenOnArrival, 0);
  assert.equal(p.svc.stats.writeMissed, files.length, p.logs.join('\n'));
  assert.ok(p.logs.some((l) => l.includes('a write of the draft failed')), p.logs.join('\n'));
  const sealed = inReady(p.dir);
  assert.equal(sealed.length, files.length);
  for (const [i, f] of sealed.entries()) {
    await assertAuthentic(f);
    assert.ok(pixelBytesOf(f).equals(pixelBytesOf(files[i]!)));
  }
  assert.deepEqual(inTmp(p.dir), []);
});

test('a technologist logging out between the pixels\' start and the seal: the draft is dropped, the object written whole and authentic', { timeout: 120000 }, async () => {
  const { natives, ids } = await ready;
  // Logged in when the pixels start (the prediction), out by the seal: the operator attributes and the co-signature's MAC item go.
  let calls = 0;
  const p = await proxy('outbox-b', () => (calls++ % 2 === 0 ? ids.technologist : undefined));
  // Operators' Name empty: the logged-in technologist's name and co-signature would go in (the modality names nobody else).
  const unnamed = join(dir, 'io-unnamed.dcm');
  const py = run(PYTHON, ['-c', `import pydicom\nds = pydicom.dcmread(${JSON.stringify(natives.find((f) => f.endsWith('io-pres.dcm')))})\nds.OperatorsName = ''\nds.save_as(${JSON.stringify(unnamed)})`]);
  assert.equal(py.code, 0, py.stderr);
  const files = [natives[0]!, unnamed];
  const r = await storescu(p.port, files);
  assert.equal(r.code, 0, r.out);
  // The first object names its operator itself (no operator attributes either way): written on arrival; the second misses.
  assert.equal(p.svc.stats.writtenOnArrival, 1, p.logs.join('\n'));
  assert.equal(p.svc.stats.writeMissed, 1, p.logs.join('\n'));
  assert.ok(p.logs.some((l) => l.includes('not the length predicted')), p.logs.join('\n'));
  const sealed = inReady(p.dir);
  assert.equal(sealed.length, files.length);
  for (const f of sealed) await assertAuthentic(f);
  assert.deepEqual(inTmp(p.dir), []);
});

test('DraftFile: pieces at their positions, finished and published; an aborted one leaves nothing', async () => {
  const d = join(dir, 'draftfile');
  const box = new Outbox(d);
  const draft = box.openDraft();
  const pixels = Buffer.alloc(5 << 20);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) & 0xff;
  for (let at = 0; at < pixels.length; at += 300_000) draft.write(pixels.subarray(at, Math.min(at + 300_000, pixels.length)), 10 + at);
  const head = Buffer.from('0123456789');
  const tail = Buffer.from('tail');
  const entry = await box.putDraft('DEV', 1, draft, [{ bytes: head, position: 0 }, { bytes: tail, position: 10 + pixels.length }], 14 + pixels.length);
  assert.ok(entry);
  assert.ok(readFileSync(entry.path).equals(Buffer.concat([head, pixels, tail])));
  assert.ok(box.has('DEV', 1));
  assert.deepEqual(inTmp(d), []);
  const dropped = box.openDraft();
  dropped.write(pixels, 0);
  assert.equal(inTmp(d).length, 1);
  await dropped.abort();
  assert.deepEqual(inTmp(d), []);
  assert.equal(box.pending().length, 1);
  // A draft left by a crash is removed when the outbox opens again.
  const left = box.openDraft();
  left.write(pixels, 0);
  await left.settled();
  writeFileSync(join(d, 'tmp', 'other.tmp'), 'x');
  const reopened = new Outbox(d);
  assert.equal(reopened.removedPartials.length, 2);
  assert.deepEqual(inTmp(d), []);
  await left.abort();
});

test('the head length predicted when the pixels start is the sealed head\'s: every SOP class, Implicit VR, with a technologist, with an ECDSA device key', async () => {
  const { natives, ids } = await ready;
  const implicit = join(dir, 'cr-implicit.dcm');
  assert.equal(tool('dcmconv', ['+ti', natives.find((f) => f.endsWith('cr.dcm'))!, implicit]).code, 0);
  const unnamed = join(dir, 'dx-unnamed.dcm');
  const py = run(PYTHON, ['-c', `import pydicom\nds = pydicom.dcmread(${JSON.stringify(natives.find((f) => f.endsWith('dx-pres.dcm')))})\nds.OperatorsName = ''\nds.save_as(${JSON.stringify(unnamed)})`]);
  assert.equal(py.code, 0, py.stderr);
  const wm = randomBytes(32);
  const cases: { f: string; tech?: TechnologistIdentity; ecdsa?: boolean; wm?: Uint8Array }[] = [...natives.map((f) => ({ f })), { f: implicit }, { f: unnamed, tech: ids.technologist }, { f: natives[1]!, ecdsa: true },
    // With the site mark: its attestation lies after the pixels, but the attributes signature lists its tags before them.
    ...natives.map((f) => ({ f, wm })), { f: unnamed, tech: ids.technologist, wm }];
  for (const c of cases) {
    const part10 = readFileSync(c.f);
    const meta = readPart10Meta(part10);
    const device = c.ecdsa ? ids.deviceWithEcdsa : ids.device;
    let predicted: Promise<number | undefined> | undefined;
    const d = new DataSetDigester(meta.transferSyntaxUid, 64, { technologist: () => c.tech,
      draft: (prefix, length, tech) => {
        predicted = sealedHeadLength(prefix, length, 'MODALITY1', { device, technologist: tech, watermarkKey: c.wm });
        return undefined;
      } });
    const body = part10.subarray(meta.dataSetOffset);
    for (let i = 0; i < body.length; i += 40000) d.update(body.subarray(i, i + 40000));
    await d.finish();
    assert.ok(predicted, `${c.f}: no prediction made`);
    const out = await sealReceived({ part10, callingAe: 'MODALITY1', remoteAddress: '127.0.0.1', serial: 5 }, { device, technologist: c.tech, watermarkKey: c.wm });
    assert.equal(out.kind, 'sealed');
    if (c.tech && out.kind === 'sealed') assert.equal(out.coSignedBy, c.tech.operatorId, 'the technologist co-signed (the head holds their MAC item)');
    const value = findElement(readPart10(out.bytes).dataSet, tag(0x7fe0, 0x0010))!.value!;
    assert.equal(await predicted, value.byteOffset - out.bytes.byteOffset, `${c.f}: predicted head length`);
  }
  // Another calling AE of another length: another head (the draft would be dropped, never used).
  const part10 = readFileSync(natives[0]!);
  const meta = readPart10Meta(part10);
  const out = await sealReceived({ part10, callingAe: 'A_MUCH_LONGER_AE', remoteAddress: '127.0.0.1', serial: 5 }, { device: ids.device });
  const value = findElement(readPart10((out as { bytes: Uint8Array }).bytes).dataSet, tag(0x7fe0, 0x0010))!.value!;
  let predicted: Promise<number | undefined> | undefined;
  const d = new DataSetDigester(meta.transferSyntaxUid, 64, { technologist: () => undefined,
    draft: (prefix, length) => { predicted = sealedHeadLength(prefix, length, 'MOD1', { device: ids.device }); return undefined; } });
  d.update(part10.subarray(meta.dataSetOffset));
  await d.finish();
  assert.notEqual(await predicted, value.byteOffset - (out as { bytes: Uint8Array }).bytes.byteOffset);
});
