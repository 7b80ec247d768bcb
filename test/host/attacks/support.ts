// Shared set-up for the attack suite: a freshly sealed object per test file
// (fresh keys, fixtures' seal path), the library front door, the CLI, and
// DCMTK as the oracle for what a viewer reads. Attacks themselves are built
// with test/attacks/part10.ts, which does not use host/dicom.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeIdentities, sealTo, testFrame, run, type Identities } from '../dicom/fixtures.js';
import { jsonLines, radseal } from '../support/run.js';
// Namespace imports: the verifier's entry point is being moved between these two files.
import * as verifyModule from '../../../host/ingest/verify.js';
import * as watermarkModule from '../../../host/ingest/verify.js';
import { parseCertificates } from '../../../host/keys/certs.js';
import { EKU_DEVICE } from '../../../host/keys/pki/profiles.js';
import { dcmtkTag, tagText } from '../../attacks/part10.js';

export { tagText };

export interface Sealed {
  dir: string;
  ids: Identities;
  /** The sealed object (device Ed25519 + ECDSA + technologist co-signature). */
  bytes: Uint8Array;
  file: string;
}

export const ROWS = 64;
export const COLS = 80;

export async function sealedObject(dir: string, opts: { ecdsa?: boolean; technologist?: boolean } = {}): Promise<Sealed> {
  const ids = await makeIdentities(dir);
  const file = join(dir, 'sealed.dcm');
  const device = opts.ecdsa === false ? ids.device : ids.deviceWithEcdsa;
  const bytes = await sealTo(file, testFrame(ROWS, COLS), device, opts.technologist === false ? {} : { technologist: ids.technologist });
  return { dir, ids, bytes, file };
}

export type Report = verifyModule.VerifyReport & { watermark?: unknown };
type VerifyObject = (file: string, bytes: Uint8Array, trust: unknown, opts: { watermarkKey?: Uint8Array }) => Report;
const legacy = (verifyModule as Record<string, unknown>).verifyBytes as ((f: string, b: Uint8Array, trust: unknown) => Report) | undefined;
const verifyObject: VerifyObject = ((verifyModule as Record<string, unknown>).verifyObject ?? (watermarkModule as Record<string, unknown>).verifyObject
  ?? ((f: string, b: Uint8Array, trust: unknown) => legacy!(f, b, trust))) as VerifyObject;

/** The library front door (what the CLI and the services call); a throw is a finding too. */
export function verifyLib(s: { ids: { trustPem: string } }, bytes: Uint8Array, opts: { watermarkKey?: Uint8Array; trustPem?: string; revocation?: 'signing-time' | 'any' } = {}): Report {
  const trust = parseCertificates(readFileSync(opts.trustPem ?? s.ids.trustPem));
  if (opts.revocation) trust.revocation = { mode: opts.revocation, requireCrl: true };
  try {
    return verifyObject('attack.dcm', bytes, trust, { watermarkKey: opts.watermarkKey });
  } catch (err) {
    assert.fail(`verify threw instead of giving a verdict: ${(err as Error).stack}`);
  }
}

const show = (r: { verdict: string; reasons: string[] }) => `${r.verdict}: ${r.reasons.join(' | ')}`;

/** Verdict `verdict`, a reason matching `why`, and (when given) a reason naming the tag as "(GGGG,EEEE)". */
export function expectVerdict(r: { verdict: string; reasons: string[] }, verdict: string, why: RegExp, tag?: number): void {
  assert.equal(r.verdict, verdict, show(r));
  assert.ok(r.reasons.some((x) => why.test(x)), `no reason matches ${why}: ${show(r)}`);
  if (tag !== undefined) assert.ok(r.reasons.some((x) => x.toUpperCase().includes(tagText(tag))), `no reason names ${tagText(tag)}: ${show(r)}`);
}

/** Any verdict but authentic, and (when given) a reason naming the tag. */
export function expectNotAuthentic(r: { verdict: string; reasons: string[] }, tag?: number): void {
  assert.notEqual(r.verdict, 'authentic', show(r));
  if (tag !== undefined) assert.ok(r.reasons.some((x) => x.toUpperCase().includes(tagText(tag))), `no reason names ${tagText(tag)}: ${show(r)}`);
}

export function writeIn(dir: string, name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** What DCMTK reads for a tag: the value text of the first match of `dcmdump +P` (searching items too). */
export function dcmtkValue(file: string, tag: number): string | null {
  const r = run('dcmdump', ['-q', '+s', '+P', dcmtkTag(tag), file]);
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith(tagText(tag).toLowerCase()));
  if (!line) return null;
  const m = /^\s*\([0-9a-f,]+\) \w\w (?:\[(.*?)\]|(\S+))/.exec(line);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

/** Pixel Data as DCMTK reads it (dcmdump +W writes the value it keeps to a .raw file). */
export function dcmtkPixels(file: string, outDir: string): Buffer {
  const r = run('dcmdump', ['-q', '+W', outDir, file]);
  assert.equal(r.status, 0, r.stderr);
  const name = `${file.split('/').pop()}.0.raw`;
  return readFileSync(join(outDir, name));
}

/** `radseal verify --json` on the built CLI: exit code and one report per file. */
export function verifyCli(files: string[], trustPem: string, ...extra: string[]): { code: number; reports: Array<{ file: string; verdict: string; reasons: string[] }>; stderr: string } {
  const r = radseal('verify', ...files, '--trust', trustPem, '--json', ...extra);
  let reports: Array<{ file: string; verdict: string; reasons: string[] }> = [];
  try {
    reports = jsonLines(r.stdout);
  } catch {
    assert.fail(`verify --json printed no JSON Lines (exit ${r.code}): ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 2000)}`);
  }
  assert.equal(reports.length, files.length, `one JSON line per file: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 2000)}`);
  return { code: r.code, reports, stderr: r.stderr };
}

/**
 * An EC P-256 key and self-signed leaf certificate made by OpenSSL for dcmsign: not a CA,
 * digitalSignature, radseal's device role, CN = the device id; extra extensions optional.
 */
export function opensslSigner(dir: string, cn: string, ext: string[] = ['extendedKeyUsage=' + EKU_DEVICE]): { key: string; cert: string } {
  const name = `${cn}-${Math.random().toString(36).slice(2, 8)}`;
  const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
  const r = run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${cn}`, '-days', '30',
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', ...ext.flatMap((e) => ['-addext', e])]);
  assert.equal(r.status, 0, r.stderr);
  return { key, cert };
}
