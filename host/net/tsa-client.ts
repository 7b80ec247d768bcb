// RFC 3161 over HTTP (RFC 3161 §3.4): POST a TimeStampReq as application/timestamp-query, read a
// TimeStampResp. The messages and their checks are in host/keys/timestamp.ts; this is transport.
import { timestampRequest, tokenFromResponse } from '../keys/timestamp.js';

/** Asks the TSA at `url` for a time-stamp token over SHA-256(signature). Errors say what went wrong. */
export async function requestTimestamp(url: string, signature: Uint8Array, timeoutMs = 10000): Promise<Uint8Array> {
  const req = timestampRequest(signature);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: Buffer.from(req.der), headers: { 'content-type': 'application/timestamp-query' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error & { cause?: Error };
    throw new Error(`TSA ${url} unreachable: ${err.cause?.message ?? err.message}`);
  }
  if (res.status !== 200) throw new Error(`TSA ${url} answered HTTP ${res.status}`);
  return tokenFromResponse(new Uint8Array(await res.arrayBuffer()), req);
}
