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

/** One extension of a certificate: its extnID (the whole OID TLV), whether it is marked critical, and its extnValue TLV. */
export interface CertificateExtension {
  oidTlv: Uint8Array;
  critical: boolean;
  value: Tlv | undefined;
}

/**
 * Every extension of a certificate, in order (none when it has no [3] Extensions). Throws on
 * malformed DER or an extension without an OID or a value.
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { …, [3] EXPLICIT Extensions }, … }.
 */
export function certificateExtensions(der: Uint8Array): CertificateExtension[] {
  const cert = tlv(der, 0);
  const tbs = children(der, cert)[0];
  if (cert.tag !== 0x30 || tbs?.tag !== 0x30) throw new Error('not a DER certificate');
  const wrapper = children(der, tbs).find((t) => t.tag === 0xa3);
  if (!wrapper) return [];
  const list = children(der, wrapper)[0];
  if (list?.tag !== 0x30) throw new Error('certificate extensions are not a SEQUENCE');
  return children(der, list).map((ext) => {
    const [id, ...rest] = children(der, ext);
    if (id?.tag !== 0x06) throw new Error('certificate extension without an OID');
    if (!rest.length) throw new Error('certificate extension without a value');
    const flag = rest.length === 2 ? rest[0]! : undefined;
    return { oidTlv: der.subarray(id.start, id.end), critical: flag?.tag === 0x01 && der[flag.content] !== 0, value: rest[rest.length - 1] };
  });
}

/**
 * The extnValue contents (the extension's own DER) of the certificate extension whose extnID
 * has the DER `oidTlv`, or undefined when the certificate has none. Throws on malformed DER.
 */
export function certificateExtension(der: Uint8Array, oidTlv: Uint8Array): Uint8Array | undefined {
  const ext = certificateExtensions(der).find((e) => equal(e.oidTlv, oidTlv));
  if (!ext) return undefined;
  if (ext.value?.tag !== 0x04) throw new Error('certificate extension without an OCTET STRING value');
  return der.subarray(ext.value.content, ext.value.end);
}

/** Dotted text of a DER OBJECT IDENTIFIER's content octets, for reasons people read. */
export function oidText(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of content) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) { arcs.push(v); v = 0n; }
  }
  if (!arcs.length) return '?';
  const first = arcs[0]! < 80n ? arcs[0]! / 40n : 2n;
  return [first, arcs[0]! - first * 40n, ...arcs.slice(1)].join('.');
}
