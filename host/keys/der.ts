// The few DER walks radseal does by hand, on paths that must not load an ASN.1 library (reading
// a certificate's role on every verify): value boundaries, the children of a SEQUENCE, and a
// certificate's extension found by its OID. node:crypto's X509Certificate does not expose raw
// extensions, and a full ASN.1 library costs more to load than the whole verify of a small object.

export interface Tlv {
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  content: number;
  /** Offset just past the value. */
  end: number;
  tag: number;
}

/** The DER value at `at` (definite lengths of up to 4 bytes, as every certificate and CRL uses). */
export function tlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  let hdr = 2;
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[at + 2 + i] ?? 0);
    hdr += n;
  }
  const end = at + hdr + len;
  if (end > der.length) throw new Error('truncated DER');
  return { start: at, content: at + hdr, end, tag };
}

/** The values inside a constructed value, in order. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.content; at < parent.end;) {
    const t = tlv(der, at);
    if (t.end > parent.end) throw new Error('DER value overruns its parent');
    out.push(t);
    at = t.end;
  }
  return out;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The extnValue contents (the extension's own DER) of the certificate extension whose extnID
 * has the DER `oidTlv`, or undefined when the certificate has none. Throws on malformed DER.
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { …, [3] EXPLICIT Extensions }, … }.
 */
export function certificateExtension(der: Uint8Array, oidTlv: Uint8Array): Uint8Array | undefined {
  const cert = tlv(der, 0);
  const tbs = children(der, cert)[0];
  if (cert.tag !== 0x30 || tbs?.tag !== 0x30) throw new Error('not a DER certificate');
  const wrapper = children(der, tbs).find((t) => t.tag === 0xa3);
  if (!wrapper) return undefined;
  const list = children(der, wrapper)[0];
  if (list?.tag !== 0x30) throw new Error('certificate extensions are not a SEQUENCE');
  for (const ext of children(der, list)) {
    const [id, ...rest] = children(der, ext);
    if (id?.tag !== 0x06) throw new Error('certificate extension without an OID');
    if (!equal(der.subarray(id.start, id.end), oidTlv)) continue;
    const value = rest[rest.length - 1];
    if (value?.tag !== 0x04) throw new Error('certificate extension without an OCTET STRING value');
    return der.subarray(value.content, value.end);
  }
  return undefined;
}
