// UIDs radseal uses, and generation of new ones.
import { randomBytes } from 'node:crypto';

export const UID = {
  explicitVrLittleEndian: '1.2.840.10008.1.2.1',
  implicitVrLittleEndian: '1.2.840.10008.1.2',
  dxImageStorageForPresentation: '1.2.840.10008.5.1.4.1.1.1.1',
  dxImageStorageForProcessing: '1.2.840.10008.5.1.4.1.1.1.1.1',
  /** Implementation Class UID: a UUID-derived UID (PS3.5 B.2) fixed for this implementation. */
  implementationClass: '2.25.83724611941532890154632401157823618401',
  implementationVersionName: 'RADSEAL_010',
} as const;

/**
 * A new UID under the 2.25 arc from 128 random bits (PS3.5 B.2): no
 * registered organisation root is needed and collisions are negligible.
 */
export function newUid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40; // UUID version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return '2.25.' + BigInt('0x' + b.toString('hex')).toString(10);
}
