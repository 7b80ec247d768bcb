// Reading what the verify options name: the trust bundle (with its revocation settings), the
// policy, the site watermark key. Loaded when a verifying command runs, not at start-up.
import { readFileSync } from 'node:fs';
import { parseCertificates, type TrustSet } from '../keys/certs.js';
import { loadWatermarkKey } from '../keys/watermark-key.js';
import { DEFAULT_POLICY, readPolicyFile } from '../ingest/policy.js';
import type { VerifyOptionValues, VerifySettings } from './verify-options.js';

export function loadTrust(path: string): TrustSet {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(`cannot read trust file ${path}`);
  }
  let certs: TrustSet;
  try {
    certs = parseCertificates(bytes);
  } catch (err) {
    throw new Error(`trust file ${path}: ${(err as Error).message}`);
  }
  if (certs.length === 0) throw new Error(`${path} holds no certificate`);
  return certs;
}

export function verifySettings(o: VerifyOptionValues): VerifySettings {
  const trust = loadTrust(o.trust);
  trust.revocation = { mode: o.revocation, requireCrl: !o.allowMissingCrl };
  const policy = { ...(o.policy ? readPolicyFile(o.policy) : DEFAULT_POLICY) };
  if (o.requireTechnologist) policy.requireTechnologistSignature = true;
  return { trust, policy, watermarkKey: o.wmKey ? loadWatermarkKey(o.wmKey) : undefined };
}
