// Exposures held while nobody is logged in (a station whose policy is "hold"):
// the frame as it arrived, kept durably in the outbox's held/ folder until a
// technologist logs in and confirms, then sealed with their co-signature.
//
// Why the raw frame and not a device-sealed object: Operators' Name and the
// Operator Identification Sequence are covered by the device signature, and
// verify accepts a technologist co-signature only when its signer is the
// operator the object names. So the object is built and signed once, at
// confirm, with the confirming technologist in it. Until then the record is
// signed by the device key, so a record changed on disk is refused, never sealed.
//
//   held/<captureMs>-<device>-<serial>.held:
//     "RSHELD1\n", u32 LE header length, header JSON, frame bytes (uint16 LE),
//     device Ed25519 signature over SHA-256 of everything before it
import { readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, privateDir, writeFileAtomic } from '../io/atomic.js';
import { sha256 } from '../core/hash.js';
import { verifyEd25519 } from '../keys/ed25519.js';
import { safeName, type Outbox } from '../net/outbox.js';
import type { CaptureMeta, DxFrame } from '../dicom/dx.js';
import type { DeviceIdentity, SealedObject } from '../seal/seal.js';

const MAGIC = new TextEncoder().encode('RSHELD1\n');
const SIGNATURE_BYTES = 64;

export interface HeldExposure {
  deviceId: string;
  serial: number;
  frame: DxFrame;
  /** SHA-256 of the frame as it arrived over the link. */
  rawFrameSha256: Uint8Array;
  captureTime: Date;
  meta: CaptureMeta;
}

interface HeldHeader {
  deviceId: string;
  serial: number;
  rows: number;
  cols: number;
  bitsStored: number;
  rawFrameSha256: string;
  captureTime: string;
  meta: CaptureMeta;
}

export class HeldFrames {
  readonly dir: string;

  constructor(private readonly outbox: Outbox, private readonly device: DeviceIdentity) {
    this.dir = join(outbox.dir, 'held');
    privateDir(this.dir); // frames of patients: owner-only
  }

  /** Keeps an exposure durably (file and folder fsynced); after this the device may be ACKed. */
  async hold(x: HeldExposure): Promise<string> {
    const header: HeldHeader = {
      deviceId: x.deviceId, serial: x.serial, rows: x.frame.rows, cols: x.frame.cols, bitsStored: x.frame.bitsStored,
      rawFrameSha256: Buffer.from(x.rawFrameSha256).toString('hex'), captureTime: x.captureTime.toISOString(), meta: x.meta,
    };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, json.length, true);
    const pixels = new Uint8Array(x.frame.pixels.buffer, x.frame.pixels.byteOffset, x.frame.pixels.byteLength);
    const body = Buffer.concat([MAGIC, length, json, pixels]);
    const signature = await this.device.signer.sign(sha256(body));
    const name = `${String(x.captureTime.getTime()).padStart(15, '0')}-${safeName(x.deviceId)}-${x.serial}.held`;
    writeFileAtomic(join(this.dir, name), Buffer.concat([body, signature]), { mode: 0o600, tmpDir: this.outbox.tmpDir, noClobber: true });
    this.outbox.remember(x.deviceId, x.serial);
    return name;
  }

  /** Held exposures, oldest capture first. */
  names(): string[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.held')).sort();
  }

  /**
   * Seals every held exposure with `seal` (which adds the technologist), oldest first, stores it
   * with `store` (default: the outbox's send queue), and removes its record. A crash between the
   * two is harmless: the next release finds the object already stored (`stored`) and only removes
   * the record. A record that fails its device signature or hash stays where it is and is reported.
   */
  async release(
    seal: (x: HeldExposure) => Promise<SealedObject>,
    store: (x: HeldExposure, sealed: SealedObject) => void = (x, sealed) => void this.outbox.put(x.deviceId, x.serial, sealed.bytes),
    stored: (x: HeldExposure) => boolean = (x) => this.outbox.holdsObject(x.deviceId, x.serial),
  ): Promise<{ sealed: number; refused: string[] }> {
    let sealed = 0;
    const refused: string[] = [];
    for (const name of this.names()) {
      const path = join(this.dir, name);
      const x = this.read(path);
      if (typeof x === 'string') {
        refused.push(`${name}: ${x}`);
        continue;
      }
      if (!stored(x)) {
        store(x, await seal(x));
        sealed++;
      }
      unlinkSync(path);
      fsyncDir(this.dir);
    }
    return { sealed, refused };
  }

  /** The exposure in a record, or why it cannot be trusted. */
  private read(path: string): HeldExposure | string {
    const file = new Uint8Array(readFileSync(path));
    if (file.length < MAGIC.length + 4 + SIGNATURE_BYTES || !Buffer.from(file.subarray(0, MAGIC.length)).equals(MAGIC)) return 'not a held-frame record';
    const body = file.subarray(0, file.length - SIGNATURE_BYTES);
    if (!verifyEd25519(file.subarray(file.length - SIGNATURE_BYTES), sha256(body), this.device.signer.publicKey)) {
      return "the device signature does not match (changed on disk, or held by another device key)";
    }
    const jsonLength = new DataView(file.buffer, file.byteOffset + MAGIC.length, 4).getUint32(0, true);
    const jsonStart = MAGIC.length + 4;
    const h = JSON.parse(new TextDecoder().decode(body.subarray(jsonStart, jsonStart + jsonLength))) as HeldHeader;
    const bytes = body.slice(jsonStart + jsonLength);
    if (bytes.length !== h.rows * h.cols * 2) return 'frame size does not match its header';
    if (Buffer.from(sha256(bytes)).toString('hex') !== h.rawFrameSha256) return 'frame bytes do not match the SHA-256 recorded at capture';
    return {
      deviceId: h.deviceId, serial: h.serial, rawFrameSha256: new Uint8Array(Buffer.from(h.rawFrameSha256, 'hex')),
      frame: { rows: h.rows, cols: h.cols, bitsStored: h.bitsStored, pixels: new Uint16Array(bytes.buffer, bytes.byteOffset, h.rows * h.cols) },
      captureTime: new Date(h.captureTime), meta: h.meta,
    };
  }
}
