// The options every verifying command shares (verify, ingest, verify-service,
// report), parsed one way: trust bundle with its revocation settings, policy,
// site watermark key.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { parseCertificates, type TrustSet } from '../keys/certs.js';
import { loadWatermarkKey } from '../keys/watermark-key.js';
import { DEFAULT_POLICY, readPolicyFile, type VerifyPolicy } from '../ingest/policy.js';

export interface VerifyOptionValues {
  trust: string;
  wmKey?: string;
  policy?: string;
  requireTechnologist?: boolean;
  revocation: 'signing-time' | 'any';
  allowMissingCrl?: boolean;
}

export interface VerifySettings {
  trust: TrustSet;
  policy: VerifyPolicy;
  watermarkKey?: Uint8Array;
}

export function withVerifyOptions(c: Command): Command {
  return c
    .requiredOption('--trust <file>', 'trusted certificate or PEM bundle (device certificates, or site CA with its CRL)')
    .option('--wm-key <file>', 'site watermark key: detect the capture watermark, report its payload and tamper map, and require it')
    .option('--policy <file>', 'verify policy JSON: requireTechnologistSignature, acceptedMacAlgorithms, additionalRequiredSignedTags')
    .option('--require-technologist', 'not authentic without a valid, trusted technologist co-signature')
    .addOption(new Option('--revocation <mode>', "revoked certificates (CRL in the trust bundle): signing-time = a signature dated before the revocation stays trusted (its date is the signer's claim); any = refuse every signature by a revoked certificate").choices(['signing-time', 'any']).default('signing-time'))
    .option('--allow-missing-crl', 'trust CA-issued certificates even when the bundle holds no CRL from their CA (revocation not checked)');
}

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
