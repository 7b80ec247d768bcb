// What `radseal doctor` checks on a station, one small function per check, each with a name and
// the sentence it verifies. A check passes, fails (with what to do), or is skipped when the
// station config does not use what it checks. Network peers are reached through the same
// clients the services use: C-ECHO (passed in), the RFC 3161 client, fetch for STOW-RS.
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readFileSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { decideTrust, parseCertificate, parseCertificates, type CertInfo, type TrustSet } from '../keys/certs.js';
import { fromPemAll } from '../keys/pem.js';
import { isPkcs11Uri } from '../keys/pkcs11.js';
import { loadTls, type DicomTls } from '../net/tls.js';
import { requestTimestamp } from '../net/tsa-client.js';
import { loadBoard } from '../boards/board.js';
import { loadTokenDeviceIdentity } from '../seal/device.js';
import type { StationConfig } from './station.js';
import { isWritableUnder, unitWritablePaths } from './unit-paths.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckOutcome {
  status: CheckStatus;
  detail: string;
}

/** A DICOM peer to C-ECHO: the fields of an association target doctor knows. */
export interface EchoTarget {
  calledAe: string;
  host: string;
  port: number;
  callingAe?: string;
  timeoutMs?: number;
  tls?: DicomTls;
}

/** One C-ECHO; throws saying what failed (the services' own association client). */
export type EchoProbe = (target: EchoTarget) => Promise<{ roundTripMs: number }>;

export interface DoctorContext {
  config: StationConfig;
  echo: EchoProbe;
  now: Date;
  /** The user doctor runs as (process.getuid()). */
  uid: number;
  /** Per network check. */
  timeoutMs: number;
  /** Where installed systemd units are looked for (default: the system's). */
  unitDirs?: readonly string[];
}

export interface StationCheck {
  name: string;
  description: string;
  run(ctx: DoctorContext): Promise<CheckOutcome> | CheckOutcome;
}

const pass = (detail: string): CheckOutcome => ({ status: 'pass', detail });
const fail = (detail: string): CheckOutcome => ({ status: 'fail', detail });
/** One outcome for several folders: the failures when any failed, else every folder's detail. */
function allOf(outcomes: CheckOutcome[]): CheckOutcome {
  const failed = outcomes.filter((o) => o.status === 'fail');
  return failed.length ? fail(failed.map((o) => o.detail).join('; ')) : pass(outcomes.map((o) => o.detail).join('; '));
}
const skip = (detail: string): CheckOutcome => ({ status: 'skip', detail });
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const days = (ms: number) => Math.floor(ms / 86_400_000);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** uid of a user from /etc/passwd (the services' account), or undefined when it does not exist. */
function uidOf(user: string): number | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === user);
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

/** Who must own the secret files: the account doctor runs as, or, run by root, the services' account. */
export function expectedKeyOwner(ctx: DoctorContext): { uid: number; who: string } {
  if (ctx.uid !== 0) return { uid: ctx.uid, who: `uid ${ctx.uid} (the user running doctor)` };
  const user = ctx.config.station?.['service-user'] ?? 'radseal';
  const uid = uidOf(user);
  return uid === undefined ? { uid: 0, who: `root (no user "${user}" on this system)` } : { uid, who: `${user} (uid ${uid})` };
}

function secretFiles(c: StationConfig): Array<{ what: string; path: string }> {
  const files: Array<{ what: string; path: string }> = [];
  const key = c.keys?.key;
  if (key && !isPkcs11Uri(key)) files.push({ what: 'device key', path: key });
  if (c.keys?.['ecdsa-key']) files.push({ what: 'device ECDSA key', path: c.keys['ecdsa-key'] });
  if (c.keys?.['wm-key']) files.push({ what: 'watermark key', path: c.keys['wm-key'] });
  if (c.pacs?.['tls-key']) files.push({ what: 'TLS key', path: c.pacs['tls-key'] });
  if (c.ris?.['worklist-tls-key']) files.push({ what: 'worklist TLS key', path: c.ris['worklist-tls-key'] });
  if (c.ris?.['mpps-tls-key']) files.push({ what: 'MPPS TLS key', path: c.ris['mpps-tls-key'] });
  return files;
}

export const keyFiles: StationCheck = {
  name: 'key-files',
  description: 'Key files are regular files with mode 0600 (nothing for group or others), owned by the service user.',
  run(ctx) {
    const files = secretFiles(ctx.config);
    if (files.length === 0) return skip(ctx.config.keys?.key ? 'the device key is on a PKCS#11 token; no key files' : 'no key files configured');
    const owner = expectedKeyOwner(ctx);
    const problems: string[] = [];
    for (const f of files) {
      let st;
      try {
        st = lstatSync(f.path);
      } catch (err) {
        problems.push(`${f.what} ${f.path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as NodeJS.ErrnoException).code}`);
        continue;
      }
      if (!st.isFile()) problems.push(`${f.what} ${f.path}: not a regular file`);
      else if (st.mode & 0o077) problems.push(`${f.what} ${f.path}: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, others can read it; run: chmod 600 ${f.path}`);
      if (st.isFile() && st.uid !== owner.uid) problems.push(`${f.what} ${f.path}: owned by uid ${st.uid}, not ${owner.who}; run: chown ${owner.uid} ${f.path}`);
    }
    return problems.length ? fail(problems.join('; ')) : pass(`${files.map((f) => f.path).join(', ')}: 0600, owned by ${owner.who}`);
  },
};

function readCertificate(path: string): CertInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read certificate ${path}: ${(err as NodeJS.ErrnoException).code ?? 'I/O error'}`);
  }
  const text = bytes.toString('latin1');
  const der = text.includes('-----BEGIN ') ? fromPemAll(text, 'CERTIFICATE')[0] : new Uint8Array(bytes);
  if (!der) throw new Error(`${path} holds no PEM certificate`);
  return parseCertificate(der);
}

/** Whether the private key in a PEM file belongs to the certificate (public keys compared; the key is never shown). */
function keyMatches(keyPath: string, cert: CertInfo): boolean {
  const key = createPrivateKey(readFileSync(keyPath));
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' }).toString('hex');
  return spki(createPublicKey(key)) === spki(cert.x509.publicKey);
}

/**
 * Logs in to the token with the PIN from the environment (as the service would) and checks
 * that the key there belongs to the certificate; the PIN never appears in what this says.
 * A board whose keys.store is "pkcs11" lends its module and token label, as capture does.
 */
function tokenKeyProblem(uri: string, certPath: string, pinEnv: string | undefined, boardId: string | undefined): string | null {
  if (!pinEnv) return `the device key is on a token (${uri}): set [keys] pin-env to the variable holding its PIN`;
  const pin = process.env[pinEnv];
  if (pin === undefined) return `environment variable ${pinEnv} (the token PIN) is not set; the services read it from /etc/radseal/radseal.env`;
  let defaults: { module?: string; token?: string } | undefined;
  try {
    const b = boardId ? loadBoard(boardId) : undefined;
    if (b?.keys.store === 'pkcs11') defaults = { module: b.keys.pkcs11Module, token: b.keys.slotLabel };
  } catch {
    // the board check reports a bad board
  }
  try {
    loadTokenDeviceIdentity(uri, certPath, pin, undefined, defaults).close?.();
    return null;
  } catch (err) {
    return errorText(err);
  }
}

export const deviceCertificate: StationCheck = {
  name: 'device-certificate',
  description: "The device certificate is valid today, names this station's device id and belongs to the device key.",
  run(ctx) {
    const k = ctx.config.keys;
    if (!k?.cert) return skip('no device certificate configured ([keys] cert)');
    let cert: CertInfo;
    try {
      cert = readCertificate(k.cert);
    } catch (err) {
      return fail(errorText(err));
    }
    const now = ctx.now.getTime();
    if (now < cert.notBefore.getTime()) return fail(`${k.cert} (${cert.commonName}) is not valid before ${iso(cert.notBefore)}; check this station's clock`);
    if (now > cert.notAfter.getTime()) return fail(`${k.cert} (${cert.commonName}) expired at ${iso(cert.notAfter)}; issue a new one (radseal pki issue-device)`);
    const id = ctx.config.station?.['device-id'];
    if (id && cert.commonName !== id) return fail(`${k.cert} names device "${cert.commonName}", the station config says "${id}"`);
    let keyNote = 'no device key configured';
    if (k.key && isPkcs11Uri(k.key)) {
      const token = tokenKeyProblem(k.key, k.cert, k['pin-env'], ctx.config.station?.board);
      if (token) return fail(token);
      keyNote = 'matches the device key on its token';
    } else if (k.key) {
      try {
        if (!keyMatches(k.key, cert)) return fail(`the key in ${k.key} does not belong to ${k.cert}`);
      } catch (err) {
        return fail(`cannot read device key ${k.key}: ${(err as NodeJS.ErrnoException).code ?? 'not a PEM private key'}`);
      }
      keyNote = 'matches the device key';
    }
    return pass(`${cert.commonName}, valid until ${iso(cert.notAfter)} (${days(cert.notAfter.getTime() - now)} days), ${keyNote}`);
  },
};

function readTrust(path: string): TrustSet {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read trust bundle ${path}: ${(err as NodeJS.ErrnoException).code ?? 'I/O error'}`);
  }
  return parseCertificates(bytes);
}

export const trustChain: StationCheck = {
  name: 'trust-chain',
  description: 'The device certificate chains to the site trust bundle, in the device role, and is not revoked.',
  run(ctx) {
    const k = ctx.config.keys;
    if (!k?.cert || !k.trust) return skip(!k?.trust ? 'no trust bundle configured ([keys] trust)' : 'no device certificate configured');
    try {
      const cert = readCertificate(k.cert);
      const trust = readTrust(k.trust);
      const decision = decideTrust(cert, trust, ctx.now, { role: 'device', signedAt: ctx.now, now: ctx.now });
      return decision.trusted ? pass(`${decision.reason}; revocation ${decision.revocation ?? 'not checked'}`) : fail(decision.reason);
    } catch (err) {
      return fail(errorText(err));
    }
  },
};

export const crlFresh: StationCheck = {
  name: 'crl-fresh',
  description: 'Every CA in the trust bundle has a revocation list in force now (issued in the past, next update in the future).',
  run(ctx) {
    const path = ctx.config.keys?.trust;
    if (!path) return skip('no trust bundle configured ([keys] trust)');
    let trust: TrustSet;
    try {
      trust = readTrust(path);
    } catch (err) {
      return fail(errorText(err));
    }
    const cas = trust.filter((c) => c.x509.ca);
    if (cas.length === 0) return skip(`${path} holds no CA certificate (device certificates trusted one by one have no revocation list)`);
    const problems: string[] = [];
    const fine: string[] = [];
    for (const ca of cas) {
      const crls = (trust.crls ?? []).filter((c) => c.issuer.fingerprint256 === ca.fingerprint256).map((c) => c.crl);
      const newest = crls.sort((a, b) => b.crlNumber - a.crlNumber || b.thisUpdate.getTime() - a.thisUpdate.getTime())[0];
      if (!newest) problems.push(`no revocation list from CA ${ca.commonName}; rebuild the bundle with radseal pki bundle`);
      else if (newest.thisUpdate > ctx.now) problems.push(`the revocation list of CA ${ca.commonName} is dated ${iso(newest.thisUpdate)}, in the future; check this station's clock`);
      else if (newest.nextUpdate < ctx.now) problems.push(`the revocation list of CA ${ca.commonName} (number ${newest.crlNumber}) expired at ${iso(newest.nextUpdate)}; install a fresh trust bundle`);
      else fine.push(`CA ${ca.commonName}: list number ${newest.crlNumber} in force until ${iso(newest.nextUpdate)} (${days(newest.nextUpdate.getTime() - ctx.now.getTime())} days)`);
    }
    return problems.length ? fail(problems.join('; ')) : pass(fine.join('; '));
  },
};

export const board: StationCheck = {
  name: 'board',
  description: 'The capture board profile loads and is valid.',
  run(ctx) {
    const id = ctx.config.station?.board;
    if (!id) return skip('no capture board configured ([station] board)');
    try {
      const b = loadBoard(id);
      return pass(`${b.id}: ${b.name}`);
    } catch (err) {
      return fail(errorText(err));
    }
  },
};

/** Writes, fsyncs and removes a probe file in `dir`; reports free space against `minFree`. */
function folderWritable(dir: string, minFree: number): CheckOutcome {
  if (!existsSync(dir)) return fail(`${dir} does not exist; create it for the service user (install -d -o radseal -m 0700 ${dir})`);
  const probe = join(dir, `.radseal-doctor-${process.pid}`);
  try {
    const fd = openSync(probe, 'wx', 0o600);
    try {
      writeSync(fd, Buffer.alloc(4096));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (err) {
    return fail(`cannot write in ${dir}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`);
  }
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (free < minFree) return fail(`${dir}: only ${gib(free)} free, less than the ${gib(minFree)} required ([outbox] min-free)`);
  return pass(`${dir}: writable, ${gib(free)} free`);
}

/** 1073741824, "512MiB", "2GiB" (k/m/g read as powers of 1024, as the CLI's byte options do). */
export function byteSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(v.trim());
  if (!m) throw new Error(`not a byte size: "${v}"`);
  return Math.floor(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()));
}

export const DEFAULT_MIN_FREE = 2 ** 30;

/** Each service's outbox: [outbox] dir unless its own section sets one. */
export function serviceOutboxes(c: StationConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const service of ['capture', 'proxy']) {
    const own = c.commands[service]?.outbox;
    const dir = typeof own === 'string' ? own : c.outbox?.dir;
    if (dir && (typeof own === 'string' || service === 'capture' || c.commands[service])) out.set(service, dir);
  }
  return out;
}

export const outbox: StationCheck = {
  name: 'outbox',
  description: "Each service's outbox folder is its own, is writable, and its file system has the free space the station asks for.",
  run(ctx) {
    const dirs = serviceOutboxes(ctx.config);
    if (dirs.size === 0) return skip('no outbox configured ([outbox] dir)');
    const minFree = byteSize(ctx.config.outbox?.['min-free'] ?? DEFAULT_MIN_FREE);
    const [capture, proxy] = [dirs.get('capture'), dirs.get('proxy')];
    // Two services numbering objects into one ready/ queue would overwrite each other's sequence.
    if (capture && proxy && capture === proxy) return fail(`capture and proxy would share the outbox ${capture}; give [proxy] outbox its own folder`);
    return allOf([...new Set(dirs.values())].map((d) => folderWritable(d, minFree)));
  },
};

export const ingestFolders: StationCheck = {
  name: 'ingest-folders',
  description: "The ingest gateway's store, quarantine and audit-log folders are writable.",
  run(ctx) {
    const s = ctx.config.commands.ingest ?? {};
    const dirs = [s.store, s.quarantine, typeof s.audit === 'string' ? dirname(s.audit) : undefined].filter((d): d is string => typeof d === 'string');
    if (dirs.length === 0) return skip('no ingest folders configured ([ingest] store, quarantine, audit)');
    return allOf(dirs.map((d) => folderWritable(d, 0)));
  },
};

export const servicePaths: StationCheck = {
  name: 'service-paths',
  description: 'Each installed service unit may write the folders the station config gives it (ReadWritePaths: everything else is read-only to it).',
  run(ctx) {
    const ingest = ctx.config.commands.ingest ?? {};
    const outboxes = serviceOutboxes(ctx.config);
    const wanted: Array<{ unit: string; what: string; dir: string | undefined }> = [
      { unit: 'radseal-capture.service', what: 'outbox', dir: outboxes.get('capture') },
      { unit: 'radseal-proxy.service', what: 'outbox', dir: outboxes.get('proxy') },
      { unit: 'radseal-ingest.service', what: 'store', dir: typeof ingest.store === 'string' ? ingest.store : undefined },
      { unit: 'radseal-ingest.service', what: 'quarantine', dir: typeof ingest.quarantine === 'string' ? ingest.quarantine : undefined },
      { unit: 'radseal-ingest.service', what: 'audit log folder', dir: typeof ingest.audit === 'string' ? dirname(ingest.audit) : undefined },
    ];
    const problems: string[] = [];
    const fine: string[] = [];
    for (const w of wanted) {
      if (!w.dir) continue;
      const allowed = unitWritablePaths(w.unit, ctx.unitDirs);
      if (!allowed) continue;
      if (isWritableUnder(w.dir, allowed)) fine.push(`${w.unit} may write ${w.dir}`);
      else problems.push(`${w.unit} cannot write its ${w.what} ${w.dir} (ReadWritePaths: ${allowed.join(' ') || 'none'}); add it with: systemctl edit ${w.unit.replace('.service', '')}`);
    }
    if (problems.length) return fail(problems.join('; '));
    return fine.length ? pass(fine.join('; ')) : skip('no radseal service unit installed for the folders configured');
  },
};

/** AE@HOST:PORT as an echo target with this station's calling AE. */
function echoTarget(spec: string, ctx: DoctorContext, tls?: DicomTls): EchoTarget {
  const m = /^([^@]{1,16})@(.+):(\d{1,5})$/.exec(spec);
  if (!m) throw new Error(`"${spec}" is not AE@HOST:PORT`);
  return { calledAe: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]), callingAe: ctx.config.station?.['calling-ae'], timeoutMs: ctx.timeoutMs, tls };
}

async function echo(spec: string, ctx: DoctorContext, tls?: DicomTls): Promise<CheckOutcome> {
  try {
    const r = await ctx.echo(echoTarget(spec, ctx, tls));
    return pass(`${spec}${tls ? ' over TLS' : ''} answered C-ECHO in ${r.roundTripMs.toFixed(0)} ms`);
  } catch (err) {
    const message = errorText(err);
    return fail(message.includes(spec) ? message : `${spec}${tls ? ' (TLS)' : ''}: ${message}`);
  }
}

/** A STOW-RS URL answers HTTP at all (any status: the endpoint is there). */
async function httpAnswers(url: string, ctx: DoctorContext): Promise<CheckOutcome> {
  try {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(ctx.timeoutMs) });
    return pass(`${url} answered HTTP ${res.status}`);
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return fail(`${url} unreachable: ${e.cause?.message ?? e.message}`);
  }
}

/** The TLS identity for one peer from three config keys, or undefined when none is set. */
function tlsOf(key: string | undefined, cert: string | undefined, ca: string | undefined): DicomTls | undefined {
  return key ? loadTls({ key, cert: cert!, ca: ca! }) : undefined;
}

export const pacsReachable: StationCheck = {
  name: 'pacs',
  description: 'Every PACS target answers: C-ECHO for a DICOM target (over TLS when configured), an HTTP answer for a STOW-RS URL.',
  async run(ctx) {
    const p = ctx.config.pacs;
    if (!p) return skip('no PACS configured ([pacs] forward)');
    const targets = typeof p.forward === 'string' ? [p.forward] : p.forward;
    let tls: DicomTls | undefined;
    try {
      tls = tlsOf(p['tls-key'], p['tls-cert'], p['tls-ca']);
    } catch (err) {
      return fail(errorText(err));
    }
    // Each target on its own: the objects wait in the outbox for any one that does not answer.
    const outcomes: CheckOutcome[] = [];
    for (const t of targets) outcomes.push(/^https?:\/\//i.test(t) ? await httpAnswers(t, ctx) : await echo(t, ctx, tls));
    return allOf(outcomes);
  },
};

/** A RIS peer ([ris] worklist or mpps), over TLS when its three TLS keys are set. */
function risCheck(name: 'worklist' | 'mpps', what: string): StationCheck {
  return {
    name,
    description: `The ${what} SCP answers C-ECHO (over TLS when configured).`,
    async run(ctx) {
      const r = ctx.config.ris;
      const spec = r?.[name];
      if (!spec) return skip(`no ${what} configured ([ris] ${name})`);
      let tls: DicomTls | undefined;
      try {
        tls = tlsOf(r[`${name}-tls-key`], r[`${name}-tls-cert`], r[`${name}-tls-ca`]);
      } catch (err) {
        return fail(`[ris] ${name}-tls-*: ${errorText(err)}`);
      }
      return echo(spec, ctx, tls);
    },
  };
}

export const worklistReachable = risCheck('worklist', 'modality worklist');

export const mppsReachable = risCheck('mpps', 'MPPS');

export const tsaAnswers: StationCheck = {
  name: 'tsa',
  description: 'The time-stamping authority grants an RFC 3161 time-stamp for a dummy imprint.',
  async run(ctx) {
    const url = ctx.config.tsa?.url;
    if (!url) return skip('no TSA configured ([tsa] url)');
    const t0 = performance.now();
    try {
      const token = await requestTimestamp(url, randomBytes(32), ctx.timeoutMs);
      return pass(`${url} granted a ${token.length}-byte token in ${(performance.now() - t0).toFixed(0)} ms`);
    } catch (err) {
      return fail(errorText(err));
    }
  },
};

/** In the order they are run and printed: local files first, then the network. */
export const STATION_CHECKS: readonly StationCheck[] = [
  keyFiles, deviceCertificate, trustChain, crlFresh, board, outbox, ingestFolders, servicePaths, pacsReachable, worklistReachable, mppsReachable, tsaAnswers,
];

export interface CheckResult extends CheckOutcome {
  name: string;
  description: string;
}

export async function runChecks(ctx: DoctorContext, checks: readonly StationCheck[] = STATION_CHECKS): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    let outcome: CheckOutcome;
    try {
      outcome = await c.run(ctx);
    } catch (err) {
      outcome = fail(errorText(err)); // a check that throws has found something wrong
    }
    results.push({ name: c.name, description: c.description, ...outcome });
  }
  return results;
}
