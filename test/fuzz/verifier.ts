// The one place the fuzzer names the verifier's public entry point. It is
// moving from host/ingest/watermark-check.ts to host/ingest/verify.ts (same
// signature); whichever module exports it is used, so both trees work.
import * as watermarkCheck from '../../host/ingest/verify.js';
import * as verify from '../../host/ingest/verify.js';
import type { CertInfo } from '../../host/keys/certs.js';

export { parseCertificates } from '../../host/keys/certs.js';

export interface VerifyResult {
  verdict: string;
  reasons: string[];
}

export type VerifyObject = (file: string, bytes: Uint8Array, trustSet: CertInfo[], opts?: { watermarkKey?: Uint8Array }) => VerifyResult;

const exported = (m: object): VerifyObject | undefined => (m as { verifyObject?: VerifyObject }).verifyObject;

export const verifyObject: VerifyObject = exported(verify) ?? exported(watermarkCheck)
  ?? (() => { throw new Error('neither host/ingest/verify.ts nor host/ingest/watermark-check.ts exports verifyObject'); });
