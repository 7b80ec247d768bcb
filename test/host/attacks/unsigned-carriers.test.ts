// Content added after signing in the places no MAC covers, while every signature stays valid:
// group length elements, Data Set Trailing Padding, bytes after the DER of a certificate, an ECDSA
// signature or a timestamp token, UN elements in a signature item, a MAC Parameters item no
// signature uses, the few elements allowed unsigned in another VR or size. DCMTK's dcmsign is the
// oracle that the ECDSA device signature really still verifies (so only the verifier's own rules
// can refuse), and dcmdump that the payload is there to be read. Each must be not authentic, with
// a reason naming the carrier; the genuine shapes of the same elements stay authentic.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../support/run.js';
import { run } from '../dicom/fixtures.js';
import { sealedObject, verifyLib, expectVerdict, writeIn, dcmtkValue, type Sealed } from './support.js';
import { edit, encodeDataSet, insertSorted, must, str, us, ul, bin, t, type Part10, type Node } from '../../attacks/part10.js';

const dir = tempDir('radseal-attack-carriers-');
let s: Sealed;
before(async () => {
  s = await sealedObject(dir);
});

const payload = (n = 64) => new TextEncoder().encode('PK\x03\x04'.padEnd(n, 'hidden-payload-'));
const signatureItems = (f: Part10) => must(f.dataSet, t(0xfffa, 0xfffa)).items!.map((i) => i.elements);
const CERT = t(0x0400, 0x0115), SIGNATURE = t(0x0400, 0x0120);
const append = (n: Node, extra: Uint8Array) => { n.value = new Uint8Array([...n.value!, ...extra]); };
/** Element (0400,eeee) of the first MAC Parameters item. */
const macItem = (f: Part10, element: number) => must(must(f.dataSet, t(0x4ffe, 0x0001)).items![0]!.elements, t(0x0400, element));
/** Each bit of `text` as one byte, NUL for 0 and space for 1. */
const bits = (text: string) => [...new TextEncoder().encode(text)].flatMap((c) => Array.from({ length: 8 }, (_, i) => ((c >> (7 - i)) & 1 ? 0x20 : 0)));

/** dcmsign's verdict on the ECDSA device signature (#3; DCMTK 3.6.7 cannot read the Ed25519 ones). */
function dcmtkEcdsaOk(file: string): boolean {
  const r = run('dcmsign', ['--verify', '+cf', s.ids.certs.ecdsa, file]);
  return /Signature #3[^\n]*\n[^\n]*Signature Verification : OK/.test(r.stdout + r.stderr);
}

interface Carrier {
  name: string;
  fn: (f: Part10) => void;
  why: RegExp;
  verdict: 'invalid' | 'tampered';
  /** A tag DCMTK must be shown to read (the payload is there for a reader to find). */
  shown?: number;
  /** The ECDSA signature still verifies in DCMTK (false where the carrier is that signature). */
  dcmtkOk?: boolean;
}

/** The element as the attack writer encodes it, with its header's two reserved bytes set to "PK". */
function reservedFilled(n: Node): Uint8Array {
  const bytes = encodeDataSet([n]);
  bytes[6] = 0x50;
  bytes[7] = 0x4b;
  return bytes;
}

const CARRIERS: Carrier[] = [
  { name: 'an OB "group length" (0029,0000) holding a ZIP header', fn: (f) => insertSorted(f.dataSet, bin(t(0x0029, 0x0000), 'OB', payload())), why: /group length \(0029,0000\).*not one UL/, verdict: 'invalid', shown: t(0x0029, 0x0000) },
  { name: 'an OB group length inside the signed Operator Identification Sequence item', fn: (f) => void must(f.dataSet, t(0x0008, 0x1072)).items![0]!.elements.unshift(bin(t(0x0008, 0x0000), 'OB', payload())), why: /group length \(0008,0000\) in \(0008,1072\) item 1/, verdict: 'invalid' },
  { name: 'Data Set Trailing Padding holding a ZIP archive', fn: (f) => void f.dataSet.push(bin(t(0xfffc, 0xfffc), 'OB', payload(256))), why: /Trailing Padding \(FFFC,FFFC\) holds non-zero bytes/, verdict: 'invalid', shown: t(0xfffc, 0xfffc) },
  { name: 'padding with content inside a signed sequence item', fn: (f) => void must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements.push(bin(t(0xfffc, 0xfffc), 'OB', payload())), why: /\(FFFC,FFFC\) in \(0008,2218\) item 1 holds non-zero/, verdict: 'invalid' },
  // Zero padding there is DCMTK's (dcmconv +p pads every item) and stays authentic: genuine-reencodings.test.ts.
  { name: 'padding with content inside a MAC Parameters item', fn: (f) => void must(f.dataSet, t(0x4ffe, 0x0001)).items![0]!.elements.push(bin(t(0xfffc, 0xfffc), 'OB', payload())), why: /\(FFFC,FFFC\) in \(4FFE,0001\) item 1 holds non-zero/, verdict: 'invalid' },
  // The MAC Parameters item is outside every MAC and its text values were read with their pad stripped: a run of
  // NULs and spaces after "SHA512" or the UID is a payload written in NUL/space bits; the order of Data Elements
  // Signed (the MAC follows the data set's, PS3.3 says the list does too, DCMTK writes it so) is a permutation of 71 tags.
  { name: 'MAC Algorithm "SHA512" followed by a payload in NUL/space bits', fn: (f) => { macItem(f, 0x0015).value = new Uint8Array([...new TextEncoder().encode('SHA512'), ...bits('PK\x03\x04 hidden')]); }, why: /MAC Parameters item 1: \(0400,0015\) holds 94 bytes that are not one defined term/, verdict: 'invalid' },
  { name: 'MAC Calculation Transfer Syntax UID followed by NUL/space bits', fn: (f) => { macItem(f, 0x0010).value = new Uint8Array([...new TextEncoder().encode('1.2.840.10008.1.2.1'), ...bits('PK')]); }, why: /MAC Parameters item 1: \(0400,0010\) holds 35 bytes that are not one UID/, verdict: 'invalid' },
  {
    name: 'Data Elements Signed permuted (listed in reverse)', why: /MAC Parameters item 1: Data Elements Signed is not in data set order/, verdict: 'invalid',
    fn: (f) => {
      const list = macItem(f, 0x0020);
      const tags = Array.from({ length: list.value!.length / 4 }, (_, i) => list.value!.subarray(4 * i, 4 * i + 4));
      list.value = new Uint8Array(tags.reverse().flatMap((x) => [...x]));
    },
  },
  { name: 'bytes after the DER of a Certificate of Signer', fn: (f) => append(must(signatureItems(f)[0]!, CERT), payload()), why: /Certificate of Signer holds 64 byte\(s\) after its DER/, verdict: 'invalid' },
  { name: 'bytes after the DER of the ECDSA Signature', fn: (f) => append(must(signatureItems(f)[2]!, SIGNATURE), payload()), why: /Signature holds 64 byte\(s\) after its DER/, verdict: 'invalid', dcmtkOk: false },
  { name: 'a UN element in a signature item', fn: (f) => insertSorted(signatureItems(f)[0]!, bin(t(0x0400, 0x0200), 'UN', payload())), why: /signature item holds \(0400,0200\) as UN/, verdict: 'invalid' },
  {
    name: 'a MAC Parameters item no signature uses', verdict: 'invalid', why: /MAC Parameters item 5 \(MAC ID 77\) belongs to no signature/,
    fn: (f) => void must(f.dataSet, t(0x4ffe, 0x0001)).items!.push({ elements: [us(t(0x0400, 0x0005), 77), str(t(0x0400, 0x0010), 'UI', '1.2.840.10008.1.2.1'), str(t(0x0400, 0x0015), 'CS', 'SHA512'), { tag: t(0x0400, 0x0020), vr: 'AT', value: new Uint8Array([0x10, 0, 0x10, 0]) }] }),
  },
  { name: 'a Certified Timestamp Type without a token', fn: (f) => insertSorted(signatureItems(f)[0]!, str(t(0x0400, 0x0305), 'CS', 'CMS_TSP')), why: /Certified Timestamp Type but no Certified Timestamp/, verdict: 'invalid' },
  { name: 'Retrieve AE Title (0008,0054) as OB of 5000 bytes', fn: (f) => insertSorted(f.dataSet, bin(t(0x0008, 0x0054), 'OB', payload(5000))), why: /\(0008,0054\) present but covered by no/, verdict: 'tampered', shown: t(0x0008, 0x0054) },
  { name: 'Retrieve AE Title with a 3000-character value', fn: (f) => insertSorted(f.dataSet, str(t(0x0008, 0x0054), 'AE', 'A'.repeat(3000))), why: /\(0008,0054\) present but covered by no/, verdict: 'tampered' },
  { name: 'the reserved bytes of a signed sequence header (0008,1072 SQ) set to "PK"', fn: (f) => { const sq = must(f.dataSet, t(0x0008, 0x1072)); const body = { ...sq }; sq.raw = reservedFilled(body); }, why: /\(0008,1072\): the reserved bytes of its header are not zero/, verdict: 'invalid' },
  { name: 'Length to End (0008,0001) as OB', fn: (f) => insertSorted(f.dataSet, bin(t(0x0008, 0x0001), 'OB', payload())), why: /\(0008,0001\) present but covered by no/, verdict: 'tampered' },
];

test('control: the sealed object is authentic and DCMTK verifies its ECDSA signature', () => {
  const r = verifyLib(s, s.bytes);
  assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
  assert.ok(dcmtkEcdsaOk(s.file));
});

for (const c of CARRIERS) {
  test(`unsigned carrier: ${c.name} is ${c.verdict}, named`, () => {
    const bytes = edit(s.bytes, c.fn);
    const file = writeIn(dir, `carrier-${c.name.replace(/\W+/g, '-').slice(0, 60)}.dcm`, bytes);
    if (c.dcmtkOk !== false) assert.ok(dcmtkEcdsaOk(file), 'dcmsign: the ECDSA signature still verifies, so only a rule of the verifier can refuse');
    if (c.shown !== undefined) assert.notEqual(dcmtkValue(file, c.shown), null, 'DCMTK reads the carrier');
    expectVerdict(verifyLib(s, bytes), c.verdict, c.why);
  });
}

// The same elements in the shapes genuine writers give them stay authentic.
const GENUINE: Array<[string, (f: Part10) => void]> = [
  ['a UL group length (its count is not checked: DCMTK ignores it, stale ones are common)', (f) => insertSorted(f.dataSet, ul(t(0x0028, 0x0000), 7))],
  ['zero padding at the end and in an item', (f) => { f.dataSet.push(bin(t(0xfffc, 0xfffc), 'OB', new Uint8Array(32))); must(f.dataSet, t(0x0008, 0x2218)).items![0]!.elements.push(bin(t(0xfffc, 0xfffc), 'OB', new Uint8Array(8))); }],
  ['Retrieve AE Title "PACS1\\ARCHIVE" and Instance Availability "ONLINE"', (f) => { insertSorted(f.dataSet, str(t(0x0008, 0x0054), 'AE', 'PACS1\\ARCHIVE')); insertSorted(f.dataSet, str(t(0x0008, 0x0056), 'CS', 'ONLINE')); }],
  ['Length to End as one UL', (f) => insertSorted(f.dataSet, ul(t(0x0008, 0x0001), 1000))],
];

for (const [name, fn] of GENUINE) {
  test(`genuine: ${name} stays authentic`, () => {
    const bytes = edit(s.bytes, fn);
    const r = verifyLib(s, bytes);
    assert.equal(r.verdict, 'authentic', r.reasons.join(' | '));
    assert.ok(dcmtkEcdsaOk(writeIn(dir, `genuine-${name.replace(/\W+/g, '-').slice(0, 40)}.dcm`, bytes)));
  });
}

test('signatures stripped (Digital Signatures Sequence removed), MAC Parameters left behind: unsigned, not invalid', () => {
  const bytes = edit(s.bytes, (f) => { f.dataSet = f.dataSet.filter((e) => e.tag !== t(0xfffa, 0xfffa)); });
  expectVerdict(verifyLib(s, bytes), 'unsigned', /no Digital Signatures Sequence/);
});

test('the Certificate of Signer re-encoded with VR OW (outside every MAC, the same bytes): invalid, named', () => {
  const bytes = edit(s.bytes, (f) => { must(signatureItems(f)[0]!, CERT).vr = 'OW'; });
  expectVerdict(verifyLib(s, bytes), 'invalid', /\(0400,0115\) has VR OW, not OB/);
});
