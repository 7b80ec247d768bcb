// The site CA that biomedical engineering runs: one folder holding the CA key
// (0600, optionally PIN-encrypted), its certificate, the signed revocation
// list, the revocation database and the site watermark key; it issues device,
// technologist and PACS signer certificates (revoking: revoke.ts). Every change
// happens under a lock file, and every file is written atomically.
//
//   CA_DIR/ca.key          Ed25519 PKCS#8 (0600)
//   CA_DIR/ca.crt          self-signed CA certificate (PEM)
//   CA_DIR/crl.pem         current signed X.509 v2 CRL (PEM "X509 CRL")
//   CA_DIR/ca.json         site name, CRL number, CRL lifetime, issued and revoked certificates (no secrets)
//   CA_DIR/watermark.key   site watermark key, 32 bytes (0600)
import { deviceIdProblem, operatorIdProblem, pacsIdProblem } from '../ids.js';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { newSeed, seedSigner, type Signer } from '../ed25519.js';
import { ed25519Pkcs8, fromPemAll, toPem } from '../pem.js';
import { loadSignerFile, writePkcs8KeyFile } from '../filestore.js';
import { newP256SecretKey, p256Pkcs8, p256Signer } from '../ecdsa.js';
import { issueCertificate } from '../x509.js';
import { parseCertificate, type CertInfo } from '../certs.js';
import { generateWatermarkKey } from '../watermark-key.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { buildCrl, CRL_PEM_LABEL, normaliseSerial, type RevocationReason, type RevokedEntry } from './crl.js';
import { OU_SITE_CA, POLICY_SITE_PKI_V1, SIGNER_EKU, SIGNER_OU, type SignerKind } from './profiles.js';
import { DEFAULTS } from './defaults.js';
import { TokenSession, type Pkcs11KeyRef } from '../pkcs11.js';
import { makeDirs } from '../../io/dirs.js';

export class PkiError extends Error {
  override name = 'PkiError';
}

export { DEFAULTS };

export interface IssuedRecord {
  serial: string;
  commonName: string;
  profile: SignerKind;
  key: 'Ed25519' | 'ECDSA-P256';
  storage: 'file' | 'pkcs11';
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
}

export interface RevokedRecord {
  serial: string;
  commonName: string;
  /** From when its signatures are refused (the --time given; never after recordedAt). */
  revokedAt: string;
  reason: RevocationReason;
  /** When the CA processed the revocation. */
  recordedAt: string;
  /** The identity's kind (absent in records made before radseal wrote it: looked up in `issued`). */
  profile?: SignerKind;
}

export interface CaState {
  format: 1;
  site: string;
  crlNumber: number;
  crlDays: number;
  issued: IssuedRecord[];
  revoked: RevokedRecord[];
}

export interface CaPaths {
  dir: string;
  key: string;
  cert: string;
  crl: string;
  state: string;
  watermarkKey: string;
}

export function caPaths(dir: string): CaPaths {
  return { dir, key: join(dir, 'ca.key'), cert: join(dir, 'ca.crt'), crl: join(dir, 'crl.pem'), state: join(dir, 'ca.json'), watermarkKey: join(dir, 'watermark.key') };
}

const SITE = /^[\x20-\x7e]{1,64}$/;

/** Runs `fn` holding CA_DIR/.lock, so two commands never hand out the same CRL number or lose a revocation. */
export async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.lock');
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch {
    throw new PkiError(`${dir} is locked by another radseal pki command (${lock}); if none is running, remove that file`);
  }
  closeSync(fd);
  try {
    return await fn();
  } finally {
    unlinkSync(lock);
  }
}

function readState(p: CaPaths): CaState {
  try {
    return JSON.parse(readFileSync(p.state, 'utf8')) as CaState;
  } catch {
    throw new PkiError(`${p.dir} is not a radseal site CA folder (no readable ca.json); make one with "radseal pki init"`);
  }
}

export const writeState = (p: CaPaths, s: CaState) => writeFileAtomic(p.state, Buffer.from(`${JSON.stringify(s, null, 2)}\n`), { mode: 0o644 });

export interface OpenCa {
  paths: CaPaths;
  state: CaState;
  cert: CertInfo;
  signer: Signer;
}

/** The CA's certificate and state, without touching its key. */
export function caInfo(dir: string): { paths: CaPaths; state: CaState; cert: CertInfo } {
  const paths = caPaths(dir);
  const state = readState(paths);
  const [der] = fromPemAll(readFileSync(paths.cert, 'latin1'), 'CERTIFICATE');
  if (!der) throw new PkiError(`${paths.cert} holds no certificate`);
  return { paths, state, cert: parseCertificate(der) };
}

/** Loads the CA: key (0600, PIN-protected when it was made with one), certificate, state; checks the key belongs to the certificate. */
export function openCa(dir: string, pin?: string): OpenCa {
  const { paths, state, cert } = caInfo(dir);
  const signer = loadSignerFile(paths.key, pin);
  if (!cert.ed25519PublicKey || Buffer.compare(Buffer.from(cert.ed25519PublicKey), Buffer.from(signer.publicKey)) !== 0) {
    throw new PkiError(`the key in ${paths.key} does not belong to ${paths.cert}`);
  }
  return { paths, state, cert, signer };
}

/**
 * A revocation as its CRL entry (RFC 5280): revocationDate = when the CA
 * processed it, invalidityDate = the earlier instant given with --time, and the
 * identity the certificate belonged to, so verify can refuse its siblings.
 */
export function crlEntryOf(r: RevokedRecord, state: CaState): RevokedEntry {
  const from = new Date(r.revokedAt);
  const recorded = new Date(r.recordedAt ?? r.revokedAt);
  const processed = recorded > from ? recorded : from;
  const issued = state.issued.find((i) => i.serial === r.serial);
  const kind = r.profile ?? issued?.profile;
  return {
    serial: r.serial, revokedAt: processed, reason: r.reason,
    ...(from < processed ? { invalidSince: from } : {}),
    ...(kind ? { identity: { kind, commonName: r.commonName, ...(issued ? { issuedAt: new Date(issued.notBefore) } : {}) } } : {}),
  };
}

export async function writeCrl(ca: OpenCa, now = new Date()): Promise<Uint8Array> {
  ca.state.crlNumber += 1;
  const der = await buildCrl(ca.cert.der, ca.signer, {
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + ca.state.crlDays * 86_400_000),
    crlNumber: ca.state.crlNumber,
    entries: ca.state.revoked.map((r) => crlEntryOf(r, ca.state)),
  });
  writeState(ca.paths, ca.state);
  writeFileAtomic(ca.paths.crl, Buffer.from(toPem(CRL_PEM_LABEL, der)), { mode: 0o644 });
  return der;
}

export interface InitOptions {
  site: string;
  dir: string;
  /** Encrypt the CA key with this PIN (PKCS#8 PBES2). */
  pin?: string;
  days?: number;
  crlDays?: number;
}

/** Makes a new site CA folder: CA key and certificate, an empty signed CRL, the site watermark key. Refuses a folder that already holds a CA. */
export async function initCa(o: InitOptions): Promise<CaPaths> {
  if (!SITE.test(o.site)) throw new PkiError(`site name "${o.site}" must be 1-64 printable ASCII characters`);
  const paths = caPaths(o.dir);
  makeDirs(o.dir, 0o700);
  const clash = ['ca.key', 'ca.crt', 'ca.json', 'watermark.key'].filter((f) => existsSync(join(o.dir, f)));
  if (clash.length) throw new PkiError(`${o.dir} already holds a CA (${clash.join(', ')}); refusing to overwrite it`);
  return withLock(o.dir, async () => {
    const seed = newSeed();
    const signer = seedSigner(seed);
    const der = await issueCertificate({
      subject: { commonName: `${o.site} radseal CA`, organization: o.site, organizationalUnit: OU_SITE_CA },
      subjectPublicKey: signer.publicKey, issuerSigner: signer, isCa: true, pathLen: 0,
      keyUsage: KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, policies: [POLICY_SITE_PKI_V1], validDays: o.days ?? DEFAULTS.caDays,
    });
    writePkcs8KeyFile(paths.key, ed25519Pkcs8(seed), o.pin);
    writeFileSync(paths.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
    generateWatermarkKey(paths.watermarkKey);
    const state: CaState = { format: 1, site: o.site, crlNumber: 0, crlDays: o.crlDays ?? DEFAULTS.crlDays, issued: [], revoked: [] };
    await writeCrl({ paths, state, cert: parseCertificate(der), signer });
    seed.fill(0); // only now: the signer above signs with this very buffer
    return paths;
  });
}

const SECOND = 1000;
const floorSecond = (t: number) => Math.floor(t / SECOND) * SECOND;

/**
 * The notBefore of a new enrolment of this identity (every certificate one
 * command issues shares it). It lies a whole second (certificate and CRL times
 * count whole seconds) after every earlier enrolment of the identity, so a
 * superseded revocation can tell the revoked certificate's contemporaries from
 * its successors, and after the CA processed the identity's last revocation, so
 * that revocation does not reach the fresh start. Normally a minute in the past
 * (clock skew); right after a revocation the CA waits up to a second for it.
 */
async function enrolmentStart(state: CaState, kind: SignerKind, commonName: string): Promise<Date> {
  const mine = (serial: string) => state.issued.find((i) => i.serial === serial);
  const earlier = [
    ...state.issued.filter((i) => i.profile === kind && i.commonName === commonName).map((i) => new Date(i.notBefore).getTime()),
    ...state.revoked.filter((r) => r.commonName === commonName && r.reason !== 'superseded' && (r.profile ?? mine(r.serial)?.profile) === kind)
      .map((r) => crlEntryOf(r, state).revokedAt.getTime()),
  ];
  const start = Math.max(floorSecond(Date.now() - 60_000), ...earlier.map((t) => floorSecond(t) + SECOND));
  const wait = start - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return new Date(start);
}

interface IssueRequest {
  commonName: string;
  profile: SignerKind;
  publicKey: Uint8Array;
  /** From enrolmentStart. */
  notBefore: Date;
  days: number;
  surname?: string;
  givenName?: string;
  storage: 'file' | 'pkcs11';
}

async function issue(ca: OpenCa, o: IssueRequest): Promise<Uint8Array> {
  const der = await issueCertificate({
    subject: {
      commonName: o.commonName, organization: ca.state.site,
      organizationalUnit: SIGNER_OU[o.profile], surname: o.surname, givenName: o.givenName,
    },
    subjectPublicKey: o.publicKey,
    issuerCertificateDer: ca.cert.der, issuerSigner: ca.signer, issuerPublicKey: ca.signer.publicKey,
    extendedKeyUsage: [SIGNER_EKU[o.profile]], policies: [POLICY_SITE_PKI_V1],
    notBefore: o.notBefore, validDays: o.days,
  });
  const info = parseCertificate(der);
  ca.state.issued.push({
    serial: normaliseSerial(info.x509.serialNumber), commonName: o.commonName, profile: o.profile,
    key: o.publicKey.length === 32 ? 'Ed25519' : 'ECDSA-P256', storage: o.storage,
    notBefore: info.notBefore.toISOString(), notAfter: info.notAfter.toISOString(), fingerprint256: info.fingerprint256,
  });
  writeState(ca.paths, ca.state);
  return der;
}

function refuseExisting(...files: string[]): void {
  const there = files.filter((f) => existsSync(f));
  if (there.length) throw new PkiError(`${there.join(', ')} already exist(s); refusing to overwrite`);
}

export interface IssueDeviceOptions {
  caDir: string;
  caPin?: string;
  deviceId: string;
  outDir: string;
  ecdsa?: boolean;
  days?: number;
  /** Token key: the Ed25519 key is generated on the token (logged in with `pin`); only device.crt is written. */
  pkcs11?: Pkcs11KeyRef;
  pin?: string;
}

/** A machine signer's Ed25519 key (file 0600, or generated on a token) and its certificate, written as `<base>.key`/`<base>.crt`. */
async function issueMachineSigner(ca: OpenCa, o: { kind: 'device' | 'pacs'; id: string; notBefore: Date; days: number; key: string; cert: string; pkcs11?: Pkcs11KeyRef; pin?: string }): Promise<string[]> {
  if (o.pkcs11) {
    const publicKey = generateOnToken(o.pkcs11, o.pin!);
    const der = await issue(ca, { commonName: o.id, profile: o.kind, publicKey, notBefore: o.notBefore, days: o.days, storage: 'pkcs11' });
    writeFileSync(o.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
    return [o.cert];
  }
  const seed = newSeed();
  const der = await issue(ca, { commonName: o.id, profile: o.kind, publicKey: seedSigner(seed).publicKey, notBefore: o.notBefore, days: o.days, storage: 'file' });
  writePkcs8KeyFile(o.key, ed25519Pkcs8(seed));
  seed.fill(0);
  writeFileSync(o.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
  return [o.key, o.cert];
}

function refuseTokenWithoutPin(pkcs11: Pkcs11KeyRef | undefined, pin: string | undefined): void {
  if (pkcs11 && pin === undefined) throw new PkiError('the token PIN is missing');
}

/**
 * A device key pair (file, 0600) and its CA-issued certificate with the device profile; the layout `radseal seal --key/--cert` reads.
 * With `pkcs11` the key is generated ON the token (sensitive, not extractable) and only the certificate is written.
 */
export async function issueDevice(o: IssueDeviceOptions): Promise<string[]> {
  const idProblem = deviceIdProblem(o.deviceId);
  if (idProblem) throw new PkiError(idProblem);
  if (o.pkcs11 && o.ecdsa) throw new PkiError('--ecdsa makes a P-256 key file; a device whose key is on a token gets no ECDSA key file (issue one without --pkcs11-module if DCMTK verification is needed)');
  refuseTokenWithoutPin(o.pkcs11, o.pin);
  const files = { key: join(o.outDir, 'device.key'), cert: join(o.outDir, 'device.crt'), ecKey: join(o.outDir, 'device-ecdsa.key'), ecCert: join(o.outDir, 'device-ecdsa.crt') };
  refuseExisting(...(o.pkcs11 ? [] : [files.key]), files.cert, ...(o.ecdsa ? [files.ecKey, files.ecCert] : []));
  makeDirs(o.outDir, 0o700);
  return withLock(o.caDir, async () => {
    const ca = openCa(o.caDir, o.caPin);
    const days = o.days ?? DEFAULTS.deviceDays;
    const notBefore = await enrolmentStart(ca.state, 'device', o.deviceId);
    const written = await issueMachineSigner(ca, { kind: 'device', id: o.deviceId, notBefore, days, key: files.key, cert: files.cert, pkcs11: o.pkcs11, pin: o.pin });
    if (o.ecdsa) {
      const secret = newP256SecretKey();
      const ecDer = await issue(ca, { commonName: o.deviceId, profile: 'device', publicKey: p256Signer(secret).publicKey, notBefore, days, storage: 'file' });
      writePkcs8KeyFile(files.ecKey, p256Pkcs8(secret));
      secret.fill(0);
      writeFileSync(files.ecCert, toPem('CERTIFICATE', ecDer), { mode: 0o644 });
      written.push(files.ecKey, files.ecCert);
    }
    return written;
  });
}

export interface IssuePacsOptions {
  caDir: string;
  caPin?: string;
  /** The PACS signer's id (certificate CN), e.g. PACS-MAIN. */
  pacsId: string;
  outDir: string;
  days?: number;
  /** Token key: generated on the token (logged in with `pin`); only pacs.crt is written. */
  pkcs11?: Pkcs11KeyRef;
  pin?: string;
}

/**
 * The PACS signer: an Ed25519 key (file 0600, or generated on a token) and a
 * CA-issued certificate with the PACS signer profile, which signs only as the
 * PACS (purposes 5 Verification / 13 Review: reconciliation of patient data).
 */
export async function issuePacs(o: IssuePacsOptions): Promise<string[]> {
  const idProblem = pacsIdProblem(o.pacsId);
  if (idProblem) throw new PkiError(idProblem);
  refuseTokenWithoutPin(o.pkcs11, o.pin);
  const files = { key: join(o.outDir, 'pacs.key'), cert: join(o.outDir, 'pacs.crt') };
  refuseExisting(...(o.pkcs11 ? [] : [files.key]), files.cert);
  makeDirs(o.outDir, 0o700);
  return withLock(o.caDir, async () => {
    const ca = openCa(o.caDir, o.caPin);
    const notBefore = await enrolmentStart(ca.state, 'pacs', o.pacsId);
    return issueMachineSigner(ca, { kind: 'pacs', id: o.pacsId, notBefore, days: o.days ?? DEFAULTS.pacsDays, key: files.key, cert: files.cert, pkcs11: o.pkcs11, pin: o.pin });
  });
}

export interface IssueTechnologistOptions {
  caDir: string;
  caPin?: string;
  operatorId: string;
  /** DICOM PN, e.g. Doe^Jane: family name and given name go into the subject (SN, GN). */
  name: string;
  outDir: string;
  days?: number;
  /** File key: encrypted with this PIN (required unless the key is on a token). */
  pin?: string;
  /** Token key: generated on the token, logged in with `pin`. */
  pkcs11?: Pkcs11KeyRef;
}

/** A technologist key (PIN-encrypted file, or generated on a PKCS#11 token) and its CA-issued certificate with the technologist profile. */
export async function issueTechnologist(o: IssueTechnologistOptions): Promise<string[]> {
  const idProblem = operatorIdProblem(o.operatorId);
  if (idProblem) throw new PkiError(idProblem);
  if (!/^[^\\\x00-\x1f]{1,64}$/.test(o.name)) throw new PkiError(`name "${o.name}" must be a DICOM person name such as Doe^Jane`);
  if (o.pin === undefined) throw new PkiError(o.pkcs11 ? 'the token PIN is missing' : 'a technologist key must be protected: give a PIN (--pin-env) or use a token (--pkcs11-module)');
  const [surname, givenName] = o.name.split('^');
  const files = { key: join(o.outDir, `${o.operatorId}.key`), cert: join(o.outDir, `${o.operatorId}.crt`) };
  refuseExisting(files.cert, ...(o.pkcs11 ? [] : [files.key]));
  makeDirs(o.outDir, 0o700);
  return withLock(o.caDir, async () => {
    const ca = openCa(o.caDir, o.caPin);
    const days = o.days ?? DEFAULTS.technologistDays;
    const naming = { surname: surname || undefined, givenName: givenName || undefined };
    const notBefore = await enrolmentStart(ca.state, 'technologist', o.operatorId);
    if (o.pkcs11) {
      const publicKey = generateOnToken(o.pkcs11, o.pin!);
      const der = await issue(ca, { commonName: o.operatorId, profile: 'technologist', publicKey, notBefore, days, storage: 'pkcs11', ...naming });
      writeFileSync(files.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
      return [files.cert];
    }
    const seed = newSeed();
    const der = await issue(ca, { commonName: o.operatorId, profile: 'technologist', publicKey: seedSigner(seed).publicKey, notBefore, days, storage: 'file', ...naming });
    writePkcs8KeyFile(files.key, ed25519Pkcs8(seed), o.pin);
    seed.fill(0);
    writeFileSync(files.cert, toPem('CERTIFICATE', der), { mode: 0o644 });
    return [files.key, files.cert];
  });
}

/** Re-signs a fresh CRL (new thisUpdate/nextUpdate, next CRL number) and writes the PACS trust bundle: CA certificate + CRL, PEM. */
export async function writeBundle(o: { caDir: string; caPin?: string; out: string; crlDays?: number }): Promise<{ crlNumber: number; nextUpdate: Date; revoked: number }> {
  return withLock(o.caDir, async () => {
    const ca = openCa(o.caDir, o.caPin);
    if (o.crlDays !== undefined) ca.state.crlDays = o.crlDays;
    const now = new Date();
    const crlDer = await writeCrl(ca, now);
    const text = `# radseal trust bundle: site ${ca.state.site}, CRL number ${ca.state.crlNumber}, made ${now.toISOString()}\n${toPem('CERTIFICATE', ca.cert.der)}${toPem(CRL_PEM_LABEL, crlDer)}`;
    writeFileAtomic(o.out, Buffer.from(text), { mode: 0o644 });
    return { crlNumber: ca.state.crlNumber, nextUpdate: new Date(now.getTime() + ca.state.crlDays * 86_400_000), revoked: ca.state.revoked.length };
  });
}

/** A new Ed25519 key pair made on the token (never extractable); returns its public key. */
function generateOnToken(p: Pkcs11KeyRef, pin: string): Uint8Array {
  const session = TokenSession.open(p.module, p.token, pin);
  try {
    return session.generateEd25519(p.keyLabel);
  } finally {
    session.close();
  }
}
