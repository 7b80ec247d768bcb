// The options every verifying command shares (verify, ingest, verify-service,
// report), parsed one way: trust bundle with its revocation settings, policy,
// site watermark key. Only the option definitions live here (loaded by --help); reading the
// files they name is verify-settings.ts, loaded when a command runs.
import { Option, type Command } from 'commander';
import type { TrustSet } from '../keys/certs.js';
import type { VerifyPolicy } from '../ingest/policy.js';

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
