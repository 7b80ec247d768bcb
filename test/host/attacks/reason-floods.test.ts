// Floods of problems: a sealed object with a hundred thousand items in its
// signature envelope, or a hundred thousand empty duplicates, costs a few bytes
// per problem to write. Each used to become a reason, handed to
// Array.prototype.push as call arguments: the stack overflowed and the report
// said only "internal error" (and, where it did not, a 1 MB file gave an 8 MB
// report); a reason quoting a 64 KB value of control characters ran to 260 KB.
// The verifier must answer `invalid`, name the problem and the limit, list a
// bounded number of reasons of bounded length, quickly.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../support/run.js';
import { sealedObject, verifyLib, type Report, type Sealed } from './support.js';
import { MAX_REASONS, MAX_REASON_CHARS } from '../../../host/ingest/verify-report.js';
import { reconcilePart10 } from '../../../host/ingest/reconcile-part10.js';
import { edit, must, us, t, type Node } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-floods-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const FLOOD = 100_000;

function timed(bytes: Uint8Array): { r: Report; ms: number } {
  const t0 = performance.now();
  const r = verifyLib(s, bytes);
  return { r, ms: performance.now() - t0 };
}

/** Invalid, the problem named first, no internal error, a bounded list, a report of a few KB. */
function expectBounded(r: Report, ms: number, first: RegExp): void {
  const show = `${r.verdict}: ${r.reasons.slice(0, 3).join(' | ')} ... ${r.reasons.at(-1)}`;
  assert.equal(r.verdict, 'invalid', show);
  assert.ok(!r.reasons.some((x) => /internal error/.test(x)), show);
  assert.match(r.reasons[0]!, first, show);
  assert.ok(r.reasons.length <= MAX_REASONS, `${r.reasons.length} reasons`);
  assert.ok(JSON.stringify(r).length < 64 * 1024, `report of ${JSON.stringify(r).length} bytes`);
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
}

const flooded = (seqTag: number, item: (i: number) => Node[]) => (bytes: Uint8Array) => edit(bytes, (f) => {
  const items = must(f.dataSet, seqTag).items!;
  for (let i = 0; i < FLOOD; i++) items.push({ elements: item(i) });
});

test('control: the sealed object is authentic with a short list of reasons', () => {
  const r = verifyLib(s, s.bytes);
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  assert.ok(r.reasons.length < 10);
});

test(`${FLOOD} orphan MAC Parameters items (1.8 MB): invalid naming the limit, no internal error`, () => {
  const bytes = flooded(t(0x4ffe, 0x0001), (i) => [us(t(0x0400, 0x0005), 100 + (i % 60000))])(s.bytes);
  const { r, ms } = timed(bytes);
  expectBounded(r, ms, /100004 MAC Parameters items, more than the 16/);
});

test(`${FLOOD} signature items repeating MAC ID 1: invalid naming the limit, no internal error`, () => {
  const bytes = flooded(t(0xfffa, 0xfffa), () => [us(t(0x0400, 0x0005), 1)])(s.bytes);
  const { r, ms } = timed(bytes);
  expectBounded(r, ms, /100004 signatures .* more than the 16/);
});

test(`${FLOOD} empty duplicates of Patient's Name (800 KB): invalid, the first ones named, the rest counted`, () => {
  const bytes = edit(s.bytes, (f) => {
    const at = f.dataSet.findIndex((e) => e.tag === t(0x0010, 0x0010));
    const dups: Node[] = Array.from({ length: FLOOD }, () => ({ tag: t(0x0010, 0x0010), vr: 'PN', value: new Uint8Array(0) }));
    f.dataSet = [...f.dataSet.slice(0, at), ...dups, ...f.dataSet.slice(at)];
  });
  const { r, ms } = timed(bytes);
  expectBounded(r, ms, /element \(0010,0010\) occurs twice/);
  assert.ok(r.reasons.some((x) => /and 99\d{3} more anomalies .* not listed/.test(x)), r.reasons.slice(-3).join(' | '));
});

test('a Digital Signature DateTime of 65 000 control characters in every signature: each reason cut, the report small', () => {
  const bytes = edit(s.bytes, (f) => {
    for (const item of must(f.dataSet, t(0xfffa, 0xfffa)).items!) must(item.elements, t(0x0400, 0x0105)).value = new Uint8Array(65000).fill(1);
  });
  const { r, ms } = timed(bytes);
  expectBounded(r, ms, /^signature 1 \(Ed25519, DX-ROOM-3\): Digital Signature DateTime \(0400,0105\) "\\x01.* \(\d+ characters left out\) .*\\x01" is missing or not a valid DT$/);
  // Cut at MAX_REASON_CHARS before each control character is written as \xNN (four characters).
  assert.ok(r.reasons.every((x) => x.length < 4 * MAX_REASON_CHARS + 100), r.reasons.map((x) => x.length).join(' '));
});

test('radseal reconcile on an object with 17 signatures (each a pass over the object): refused before any is checked', async () => {
  const bytes = edit(s.bytes, (f) => {
    const macs = must(f.dataSet, t(0x4ffe, 0x0001)).items!;
    const sigs = must(f.dataSet, t(0xfffa, 0xfffa)).items!;
    for (let i = 0; i < 13; i++) {
      const renumber = (e: Node) => (e.tag === t(0x0400, 0x0005) ? us(e.tag, 100 + i) : e);
      macs.push({ elements: macs[0]!.elements.map(renumber) });
      sigs.push({ elements: sigs[0]!.elements.map(renumber) });
    }
  });
  const device = s.ids.device;
  await assert.rejects(
    reconcilePart10(bytes, [{ tag: t(0x0010, 0x0020), newValue: 'PID-0002' }], { signer: device.signer, certificateDer: device.certificateDer, modifyingSystem: 'PACS-1' }),
    /holds 17 signatures and 17 MAC Parameters items, more than the 16 radseal checks/,
  );
});
