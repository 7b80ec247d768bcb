// Reading an HTTP request body with a size limit, for every radseal HTTP endpoint (verify-service,
// reconcile, access events, the desk's forms): one place decides what "too large" does.
import type http from 'node:http';

/** The body was over the caller's limit: answer 413 (then destroyBodyAfterReply) and read no more of it. */
export class BodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`body over ${maxBytes} bytes`);
  }
}

/**
 * The request body, up to `maxBytes`. Beyond it the promise rejects with BodyTooLarge at once and
 * the rest is drained unread (nothing over the limit is held in memory), so the caller can still answer.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (d: Buffer) => {
      if (tooBig) return;
      size += d.length;
      if (size <= maxBytes) return void chunks.push(d);
      tooBig = true;
      chunks.length = 0;
      reject(new BodyTooLarge(maxBytes));
    });
    req.on('end', () => { if (!tooBig) resolve(Buffer.concat(chunks, size)); });
    req.on('error', reject);
  });
}

/** After the answer to a refused body has gone out, drop the connection rather than read the rest. */
export function destroyBodyAfterReply(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.once('finish', () => req.destroy());
}
