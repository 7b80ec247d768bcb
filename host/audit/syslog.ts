// RFC 5424 syslog messages and RFC 5425 octet-counted framing: how an audit message travels to
// an Audit Record Repository (IHE ITI-20). Written by hand: the format is a dozen lines, and the
// syslog packages on npm either speak only RFC 3164 or frame TLS with newlines, which an XML
// message may contain.

/** PEN used in structured-data IDs: 32473 is the example enterprise number of RFC 5612. */
export const SD_PEN = 32473;

export interface SyslogMessage {
  /** ITI-20: facility 10 (security/authorization), severity 5 (notice): PRI 85. */
  facility: number;
  severity: number;
  time: Date;
  hostname: string;
  appName: string;
  procId: string;
  /** ITI-20: "IHE+RFC-3881" for an audit message. */
  msgId: string;
  /** Structured data: SD-ID -> params, or none. */
  structuredData?: Record<string, Record<string, string>>;
  /** The message body; sent as UTF-8 with a BOM (RFC 5424 6.4), as ITI-20 asks. */
  msg: string;
}

/** A header field: printable US-ASCII without spaces, at most `max` characters, "-" when empty. */
function headerField(s: string, max: number): string {
  const clean = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean.length ? clean : '-';
}

/** SD-NAME: printable US-ASCII except '=', ' ', ']', '"', at most 32. */
const sdName = (s: string) => s.replace(/[^\x21-\x7e]|[= \]"]/g, '_').slice(0, 32) || '_';
/** PARAM-VALUE escapes '"', '\' and ']' (RFC 5424 6.3.3). */
const sdValue = (s: string) => s.replace(/["\\\]]/g, (c) => `\\${c}`);

export function formatSyslog(m: SyslogMessage): Buffer {
  const pri = m.facility * 8 + m.severity;
  let sd = '-';
  if (m.structuredData && Object.keys(m.structuredData).length) {
    sd = Object.entries(m.structuredData)
      .map(([id, params]) => `[${sdName(id)}${Object.entries(params).map(([k, v]) => ` ${sdName(k)}="${sdValue(v)}"`).join('')}]`)
      .join('');
  }
  const header = `<${pri}>1 ${m.time.toISOString()} ${headerField(m.hostname, 255)} ${headerField(m.appName, 48)} ${headerField(m.procId, 128)} ${headerField(m.msgId, 32)} ${sd} `;
  return Buffer.concat([Buffer.from(header, 'ascii'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(m.msg, 'utf8')]);
}

/** RFC 5425 4.3: MSG-LEN SP SYSLOG-MSG. */
export function octetCounted(msg: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

/** Reads octet-counted frames from a buffer; returns the frames and the bytes left over (an incomplete frame). */
export function readOctetCounted(buf: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let off = 0;
  for (;;) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0 || sp - off > 10) break;
    const len = Number(buf.subarray(off, sp).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) throw new Error(`bad octet count "${buf.subarray(off, sp).toString('ascii')}"`);
    if (sp + 1 + len > buf.length) break;
    frames.push(buf.subarray(sp + 1, sp + 1 + len));
    off = sp + 1 + len;
  }
  return { frames, rest: buf.subarray(off) };
}
