// POST /reconcile: the HTTP face of reconcile() for a PACS (radseal_filter.py's /radseal/reconcile
// route calls it). Loopback only, like verify-service: whoever reaches it gets corrections signed.
//
//   POST /reconcile?set=0010,0020=NEW-ID&set=PatientName=Doe^John&reason=CORRECT
//        body: the DICOM Part 10 bytes as stored
//   → 200 application/dicom: the corrected, PACS-signed object
//        X-Radseal-Signature-Uid, X-Radseal-Changes (JSON [{tag, before, after}])
//   → 400/422 {"error"}: a malformed request / a correction radseal will not make
import http from 'node:http';
import { BodyTooLarge, destroyBodyAfterReply, readBody } from '../io/http-body.js';
import { formatTag } from '../dicom/model.js';
import { DicomFormatError } from '../dicom/reader.js';
import { isLoopback } from './service.js';
import type { PacsSigner } from './pacs-signer.js';
import { type CorrectionReason, parseChange, REASONS } from './reconcilable.js';
import { ReconcileError, type ReconcileOptions } from './reconcile.js';
import { reconcilePart10 } from './reconcile-part10.js';

export interface ReconcileHandlerOptions {
  pacs: PacsSigner;
  /** Modifying System (0400,0563), e.g. PACS-1. */
  modifyingSystem: string;
  trustHistorySigner?: ReconcileOptions['trustHistorySigner'];
  maxBodyBytes?: number;
  log?: (m: string) => void;
}

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function replyJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Handles POST /reconcile (mount it on any loopback server, e.g. verify-service). */
export function reconcileHandler(o: ReconcileHandlerOptions): RequestHandler {
  const max = o.maxBodyBytes ?? 1 << 30;
  const log = o.log ?? (() => {});
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'POST' || url.pathname !== '/reconcile') return replyJson(res, 404, { error: 'POST /reconcile?set=TAG=VALUE[&set=…]&reason=CORRECT|COERCE with DICOM bytes' });
    readBody(req, max).then((body) => {
      void (async () => {
        let changes;
        const reason = (url.searchParams.get('reason') ?? 'CORRECT') as CorrectionReason;
        try {
          changes = url.searchParams.getAll('set').map(parseChange);
          if (!changes.length) throw new Error('no set=TAG=VALUE given');
          if (!REASONS.includes(reason)) throw new Error(`reason must be CORRECT or COERCE, not "${reason}"`);
        } catch (err) {
          return replyJson(res, 400, { error: (err as Error).message });
        }
        try {
          const { bytes, result } = await reconcilePart10(new Uint8Array(body), changes, {
            signer: o.pacs.signer, certificateDer: o.pacs.certificateDer, modifyingSystem: o.modifyingSystem, reason, trustHistorySigner: o.trustHistorySigner,
          });
          const summary = result.changes.map((c) => ({ tag: formatTag(c.tag), before: c.before, after: c.after }));
          log(`reconciled (${reason}): ${summary.map((c) => `${c.tag} "${c.before}" -> "${c.after}"`).join(', ')}; signature ${result.signatureUid}`);
          res.writeHead(200, {
            'content-type': 'application/dicom',
            'content-length': bytes.length,
            'x-radseal-signature-uid': result.signatureUid,
            // JSON in a header must stay ASCII: escape the rest.
            'x-radseal-changes': JSON.stringify(summary).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`),
          });
          res.end(bytes);
        } catch (err) {
          const expected = err instanceof ReconcileError || err instanceof DicomFormatError;
          log(`reconcile refused: ${(err as Error).message}`);
          replyJson(res, expected ? 422 : 500, { error: (err as Error).message });
        }
      })();
    }, (err: Error) => {
      if (!(err instanceof BodyTooLarge)) return log(`POST /reconcile: request failed: ${err.message}`);
      replyJson(res, 413, { error: err.message });
      destroyBodyAfterReply(req, res);
    });
  };
}

/** A loopback server with only POST /reconcile (radseal reconcile-service). */
export function startReconcileService(o: ReconcileHandlerOptions & { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  if (!isLoopback(o.host)) return Promise.reject(new Error(`reconcile-service listens on loopback only (127.0.0.1 or ::1), not ${o.host}`));
  const server = http.createServer(reconcileHandler(o));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve({
      port: (server.address() as { port: number }).port,
      close: () => new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
    }));
  });
}
