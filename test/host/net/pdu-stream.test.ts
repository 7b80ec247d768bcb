// The receiving upper layer as a stream: whatever sizes the socket delivers, the values come out
// exactly as sent, in order, with their context and control header; malformed framing is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ObjectBuffer, PduStream } from '../../../host/net/pdu-stream.js';
import { cat, pdataPdus, pdu } from '../../../host/net/pdu.js';

type Event = { kind: 'pdu'; type: number; body: Uint8Array } | { kind: 'pdv'; pcid: number; control: number; value: Uint8Array };

function collect(maxBody = 1 << 20): { stream: PduStream; events: Event[] } {
  const events: Event[] = [];
  let current: { pcid: number; control: number; parts: Uint8Array[]; length: number } | null = null;
  const stream = new PduStream(maxBody, {
    pdu: (type, body) => events.push({ kind: 'pdu', type, body: body.slice() }),
    pdvStart: (pcid, control, length) => { current = { pcid, control, parts: [], length }; },
    pdvBytes: (piece) => current!.parts.push(piece.slice()),
    pdvEnd: () => {
      const value = cat(...current!.parts);
      assert.equal(value.length, current!.length, 'announced value length');
      events.push({ kind: 'pdv', pcid: current!.pcid, control: current!.control, value });
      current = null;
    },
  });
  return { stream, events };
}

function feedInPieces(stream: PduStream, bytes: Uint8Array, sizes: () => number): void {
  for (let at = 0; at < bytes.length; ) {
    const n = Math.max(1, Math.min(bytes.length - at, sizes()));
    stream.push(bytes.subarray(at, at + n));
    at += n;
  }
}

test('values come out exactly as sent, whatever the chunk sizes (1 byte to whole PDUs)', () => {
  const command = randomBytes(90);
  const data = randomBytes(300_000);
  const wire = cat(pdu(0x01, randomBytes(80)), ...pdataPdus(1, command, true, 16384), ...pdataPdus(1, data, false, 65536), pdu(0x05, new Uint8Array(4)));
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (const sizes of [() => 1, () => 5, () => 6, () => 7, () => 1 + Math.floor(rnd() * 70_000), () => wire.length]) {
    const { stream, events } = collect();
    feedInPieces(stream, wire, sizes);
    assert.deepEqual(events.filter((e) => e.kind === 'pdu').map((e) => e.type), [0x01, 0x05]);
    const pdvs = events.filter((e): e is Extract<Event, { kind: 'pdv' }> => e.kind === 'pdv');
    assert.deepEqual(Buffer.from(cat(...pdvs.filter((e) => e.control & 1).map((e) => e.value))), Buffer.from(command));
    assert.deepEqual(Buffer.from(cat(...pdvs.filter((e) => !(e.control & 1)).map((e) => e.value))), Buffer.from(data));
    assert.equal(pdvs.filter((e) => e.control & 2).length, 2, 'one last fragment for the command, one for the data set');
    assert.ok(pdvs.every((e) => e.pcid === 1));
  }
});

test('a P-DATA-TF PDU may hold several values; an empty PDU body is no value', () => {
  const item = (pcid: number, control: number, v: Uint8Array) => {
    const h = new Uint8Array(6);
    new DataView(h.buffer).setUint32(0, v.length + 2, false);
    h[4] = pcid;
    h[5] = control;
    return cat(h, v);
  };
  const { stream, events } = collect();
  stream.push(cat(pdu(0x04, cat(item(3, 1, Uint8Array.of(1, 2)), item(3, 3, new Uint8Array(0)), item(5, 2, Uint8Array.of(9)))), pdu(0x04, new Uint8Array(0)), pdu(0x06, new Uint8Array(4))));
  assert.deepEqual(events.map((e) => (e.kind === 'pdv' ? [e.pcid, e.control, [...e.value]] : e.type)), [[3, 1, [1, 2]], [3, 3, []], [5, 2, [9]], 0x06]);
});

test('framing errors are errors: a value longer than its PDU, a header cut by the PDU end, a PDU over the limit', () => {
  const long = new Uint8Array(6);
  new DataView(long.buffer).setUint32(0, 100, false);
  assert.throws(() => collect().stream.push(pdu(0x04, cat(long, new Uint8Array(10)))), /does not fit its P-DATA-TF PDU/);
  assert.throws(() => collect().stream.push(pdu(0x04, new Uint8Array(4))), /ends inside a presentation data value item header/);
  const zero = new Uint8Array(6); // item length 0: not even the control header
  assert.throws(() => collect().stream.push(pdu(0x04, zero)), /does not fit/);
  const big = new Uint8Array(6);
  big[0] = 0x04;
  new DataView(big.buffer).setUint32(2, 5000, false);
  assert.throws(() => collect(4096).stream.push(big), /exceeds the limit 4096/);
});

test('a stopped stream reads nothing more', () => {
  const { stream, events } = collect();
  const wire = cat(pdu(0x05, new Uint8Array(4)), pdu(0x06, new Uint8Array(4)));
  stream.push(wire.subarray(0, 10));
  stream.stopped = true;
  stream.push(wire.subarray(10));
  assert.equal(events.length, 1);
});

test('ObjectBuffer: bytes kept in order across growth, the file built in place with the room asked for, else copied', () => {
  const room = (n: number) => ({ before: 100 + (n >> 10), after: 50 });
  const parts = [randomBytes(1000), randomBytes(5000), randomBytes(70_000), randomBytes(3)];
  const b = new ObjectBuffer(2048, room); // too small: grows
  const views = parts.map((p) => b.append(p));
  views.forEach((v, i) => assert.deepEqual(Buffer.from(v), Buffer.from(parts[i]!)));
  const header = randomBytes(300);
  const file = b.finish(header);
  assert.deepEqual(Buffer.from(file), Buffer.concat([header, ...parts]));
  const total = parts.reduce((n, p) => n + p.length, 0);
  assert.ok(file.byteOffset >= room(total).before, 'room before the file');
  assert.ok(file.buffer.byteLength - file.byteOffset - file.length >= room(total).after, 'room after the file');

  // A guess far too large (a big object, then a small one): the small file gets a buffer of its own size.
  const small = new ObjectBuffer(64 << 20, room);
  small.append(Uint8Array.of(1, 2, 3));
  const f2 = small.finish(header);
  assert.deepEqual(Buffer.from(f2), Buffer.concat([header, Buffer.of(1, 2, 3)]));
  assert.ok(f2.buffer.byteLength < 1 << 20);
});
