// Ed25519 keys held on a PKCS#11 token (a smart card, an HSM, or SoftHSM in
// tests), through the pkcs11js native addon: generate a key pair ON the token
// (private key sensitive and not extractable) and sign with it (CKM_EDDSA,
// pure Ed25519). The PIN is passed in by the caller (the CLI reads it from an
// environment variable, never argv) and never appears in an error message.
import { createRequire } from 'node:module';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { verifyEd25519, type Signer } from './ed25519.js';
import type * as Pkcs11Types from 'pkcs11js';

// PKCS#11 v3.0 constants for EdDSA (pkcs11js names most, not all of them).
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
export const CKK_EC_EDWARDS = 0x40;
/** DER OBJECT IDENTIFIER 1.3.101.112 (id-Ed25519): the CKA_EC_PARAMS SoftHSM 2.6 accepts for Ed25519. */
export const ED25519_EC_PARAMS = Buffer.from('06032b6570', 'hex');

const CKO_PUBLIC_KEY = 2;
const CKO_PRIVATE_KEY = 3;
const CKA_CLASS = 0x0;
const CKA_TOKEN = 0x1;
const CKA_PRIVATE = 0x2;
const CKA_LABEL = 0x3;
const CKA_KEY_TYPE = 0x100;
const CKA_ID = 0x102;
const CKA_SENSITIVE = 0x103;
const CKA_SIGN = 0x108;
const CKA_VERIFY = 0x10a;
const CKA_EXTRACTABLE = 0x162;
const CKA_EC_PARAMS = 0x180;
const CKA_EC_POINT = 0x181;
const CKF_RW_SESSION = 0x2;
const CKF_SERIAL_SESSION = 0x4;
const CKU_USER = 1;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

export class Pkcs11Error extends Error {
  override name = 'Pkcs11Error';
}

/** Where a token key lives. The PIN is not part of it: it comes from the environment. */
export interface Pkcs11KeyRef {
  module: string;
  token: string;
  keyLabel: string;
}

/** True when a --key argument names a token key (an RFC 7512 URI) rather than a key file. */
export const isPkcs11Uri = (s: string): boolean => s.startsWith('pkcs11:');

/** The URI naming a token key, as the CLI prints it for the operator to pass to --key / --tech-pkcs11. */
export function formatPkcs11Uri(ref: Pkcs11KeyRef): string {
  return `pkcs11:token=${encodeURIComponent(ref.token)};object=${encodeURIComponent(ref.keyLabel)}?module-path=${ref.module}`;
}

/**
 * Parses an RFC 7512 PKCS#11 URI naming a key:
 * `pkcs11:token=Ward%203;object=tech-T123?module-path=/usr/lib/softhsm/libsofthsm2.so`.
 * A PIN in the URI (pin-value) is refused: it would end up in argv and shell history.
 * `defaults` fill in a token label and module path the URI leaves out (a board's
 * keys.slotLabel and keys.pkcs11Module); a string is the module path alone.
 */
export function parsePkcs11Uri(uri: string, defaults?: string | { module?: string; token?: string }): Pkcs11KeyRef {
  const fallback = typeof defaults === 'string' ? { module: defaults } : defaults ?? {};
  if (!isPkcs11Uri(uri)) throw new Pkcs11Error('a PKCS#11 key URI starts with "pkcs11:"');
  const [path = '', query = ''] = uri.slice('pkcs11:'.length).split('?');
  const attrs = new Map<string, string>();
  for (const part of [...path.split(';'), ...query.split('&')]) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new Pkcs11Error(`malformed PKCS#11 URI attribute "${part.slice(0, 40)}"`);
    attrs.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)));
  }
  if (attrs.has('pin-value')) throw new Pkcs11Error('the PKCS#11 URI carries a PIN (pin-value): give the PIN through an environment variable instead');
  const token = attrs.get('token') ?? fallback.token;
  const keyLabel = attrs.get('object');
  const module = attrs.get('module-path') ?? fallback.module;
  if (!token || !keyLabel) throw new Pkcs11Error('the PKCS#11 URI needs token=… and object=… (the key label)');
  if (!module) throw new Pkcs11Error('the PKCS#11 URI needs module-path=… (e.g. /usr/lib/softhsm/libsofthsm2.so)');
  return { module, token, keyLabel };
}

type Lib = Pkcs11Types.PKCS11;
let addon: typeof Pkcs11Types | undefined;
const libraries = new Map<string, { lib: Lib; users: number }>();

function loadAddon(): typeof Pkcs11Types {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Types;
  } catch (err) {
    throw new Pkcs11Error(`the pkcs11js native addon is not available (${(err as Error).message.split('\n')[0]}); reinstall with "npm ci" (its install script builds it) or use a key file`);
  }
  return addon;
}

function codeOf(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

/** "CKR_PIN_INCORRECT" and the like, without anything else the library put in the message. */
function ckr(err: unknown): string {
  const m = /CKR_[A-Z_]+/.exec(String((err as Error)?.message ?? err));
  return m ? m[0] : 'PKCS#11 error';
}

function openLibrary(module: string): Lib {
  const hit = libraries.get(module);
  if (hit) {
    hit.users++;
    return hit.lib;
  }
  const { PKCS11 } = loadAddon();
  const lib = new PKCS11();
  try {
    lib.load(module);
  } catch {
    throw new Pkcs11Error(`cannot load the PKCS#11 module ${module}`);
  }
  try {
    lib.C_Initialize();
  } catch (err) {
    if (codeOf(err) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw new Pkcs11Error(`PKCS#11 module ${module} failed to initialise (${ckr(err)})`);
  }
  libraries.set(module, { lib, users: 1 });
  return lib;
}

function releaseLibrary(module: string): void {
  const hit = libraries.get(module);
  if (!hit || --hit.users > 0) return;
  libraries.delete(module);
  try {
    hit.lib.C_Finalize();
  } catch { /* already finalised */ }
}

const trimLabel = (s: string) => s.replace(/[\s\0]+$/, '');

/**
 * A PKCS#11 login belongs to the whole application, not to one session: while this process holds
 * a logged-in session on a token, C_Login answers CKR_USER_ALREADY_LOGGED_IN to any PIN. So the
 * PIN that logged in is remembered (as an HMAC under a key that never leaves this process) and a
 * second session must present the same PIN; the token is logged out when its last session closes.
 */
const PIN_KEY = randomBytes(32);
const logins = new Map<string, { pin: Buffer; sessions: number }>();
const loginKey = (module: string, token: string) => `${module}\0${token}`;
const pinDigest = (pin: string) => createHmac('sha256', PIN_KEY).update(pin).digest();

/** A logged-in session on the token with the given label. */
export class TokenSession {
  private closed = false;
  private constructor(private readonly lib: Lib, readonly module: string, readonly token: string, private readonly session: Buffer) {}

  static open(module: string, tokenLabel: string, pin: string): TokenSession {
    const lib = openLibrary(module);
    try {
      const slot = lib.C_GetSlotList(true).find((s) => trimLabel(lib.C_GetTokenInfo(s).label) === tokenLabel);
      if (!slot) throw new Pkcs11Error(`no token labelled "${tokenLabel}" in ${module}`);
      const session = lib.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
      const key = loginKey(module, tokenLabel);
      try {
        lib.C_Login(session, CKU_USER, pin);
        logins.set(key, { pin: pinDigest(pin), sessions: 0 });
      } catch (err) {
        const held = logins.get(key);
        const samePin = codeOf(err) === CKR_USER_ALREADY_LOGGED_IN && held && timingSafeEqual(held.pin, pinDigest(pin));
        if (!samePin) {
          try { lib.C_CloseSession(session); } catch { /* ignore */ }
          const why = codeOf(err) === CKR_USER_ALREADY_LOGGED_IN ? 'CKR_PIN_INCORRECT: not the PIN this token is logged in with' : ckr(err);
          throw new Pkcs11Error(`cannot log in to token "${tokenLabel}" (${why})`);
        }
      }
      logins.get(key)!.sessions++;
      return new TokenSession(lib, module, tokenLabel, session);
    } catch (err) {
      releaseLibrary(module);
      if (err instanceof Pkcs11Error) throw err;
      throw new Pkcs11Error(`token "${tokenLabel}": ${ckr(err)}`);
    }
  }

  private find(cls: number, label: string): Buffer[] {
    const { lib, session } = this;
    lib.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: cls }, { type: CKA_LABEL, value: label }]);
    try {
      return lib.C_FindObjects(session, 8);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  }

  private publicKeyOf(label: string): Uint8Array {
    const [pub] = this.find(CKO_PUBLIC_KEY, label);
    if (!pub) throw new Pkcs11Error(`no public key labelled "${label}" on token "${this.token}"`);
    const [attr] = this.lib.C_GetAttributeValue(this.session, pub, [{ type: CKA_EC_POINT }]);
    const point = attr?.value as Buffer | undefined;
    if (!point) throw new Pkcs11Error(`key "${label}" on token "${this.token}" has no CKA_EC_POINT`);
    // SoftHSM returns the point DER-wrapped in an OCTET STRING (04 20 ‖ key); some tokens give the raw 32 bytes.
    if (point.length === 34 && point[0] === 0x04 && point[1] === 0x20) return new Uint8Array(point.subarray(2));
    if (point.length === 32) return new Uint8Array(point);
    throw new Pkcs11Error(`key "${label}" on token "${this.token}" is not an Ed25519 key (CKA_EC_POINT of ${point.length} bytes)`);
  }

  /** Generates an Ed25519 key pair on the token; the private key is sensitive and never leaves it. Refuses an existing label. */
  generateEd25519(label: string, id: Uint8Array = Buffer.from(label)): Uint8Array {
    if (this.find(CKO_PRIVATE_KEY, label).length || this.find(CKO_PUBLIC_KEY, label).length) {
      throw new Pkcs11Error(`token "${this.token}" already holds a key labelled "${label}"; refusing to make another`);
    }
    const common = [{ type: CKA_KEY_TYPE, value: CKK_EC_EDWARDS }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: label }, { type: CKA_ID, value: Buffer.from(id) }];
    try {
      this.lib.C_GenerateKeyPair(this.session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
        [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, ...common, { type: CKA_VERIFY, value: true }, { type: CKA_EC_PARAMS, value: ED25519_EC_PARAMS }],
        [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, ...common, { type: CKA_PRIVATE, value: true }, { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_SIGN, value: true }]);
    } catch (err) {
      throw new Pkcs11Error(`token "${this.token}" could not generate an Ed25519 key (${ckr(err)})`);
    }
    return this.publicKeyOf(label);
  }

  /** A Signer for the token's Ed25519 key with this label; each signature is checked against the public key before it is returned. */
  signer(label: string): Signer {
    const [priv] = this.find(CKO_PRIVATE_KEY, label);
    if (!priv) throw new Pkcs11Error(`no private key labelled "${label}" on token "${this.token}"`);
    const publicKey = this.publicKeyOf(label);
    return {
      algorithm: 'Ed25519',
      publicKey,
      sign: async (message: Uint8Array) => {
        if (this.closed) throw new Pkcs11Error(`the session with token "${this.token}" is closed`);
        let sig: Buffer;
        try {
          this.lib.C_SignInit(this.session, { mechanism: CKM_EDDSA }, priv);
          sig = this.lib.C_Sign(this.session, Buffer.from(message), Buffer.alloc(64));
        } catch (err) {
          throw new Pkcs11Error(`token "${this.token}" could not sign with "${label}" (${ckr(err)})`);
        }
        const out = new Uint8Array(sig);
        if (!verifyEd25519(out, message, publicKey)) throw new Pkcs11Error(`token "${this.token}" returned a signature that does not verify with key "${label}"`);
        return out;
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const key = loginKey(this.module, this.token);
    const login = logins.get(key);
    if (login && --login.sessions <= 0) {
      logins.delete(key);
      try { this.lib.C_Logout(this.session); } catch { /* not logged in */ }
    }
    try { this.lib.C_CloseSession(this.session); } catch { /* already closed */ }
    releaseLibrary(this.module);
  }
}

/** Opens the token and returns the key's Signer; close() ends the session. */
export function openPkcs11Signer(ref: Pkcs11KeyRef, pin: string): Signer & { close(): void } {
  const session = TokenSession.open(ref.module, ref.token, pin);
  try {
    const s = session.signer(ref.keyLabel);
    return { algorithm: s.algorithm, publicKey: s.publicKey, sign: s.sign, close: () => session.close() };
  } catch (err) {
    session.close();
    throw err;
  }
}
