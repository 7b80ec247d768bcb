// verify-service: the HTTP verifier a PACS calls for each instance it receives
// (host/ingest/orthanc/radseal_filter.py posts what Orthanc received, before storage;
// radseal.lua posts Orthanc's stored file).
//
//   POST /verify?via=orthanc&ae=CALLING_AE&host=REMOTE_IP&instance=ORTHANC_ID
//        body: the DICOM Part 10 bytes
//   → 200 {"verdict", "authentic", "reasons", "action", "delete", "sopInstanceUid",
//          "fileSha256", "auditSeq", "device", "tamperedTiles", "watermarkBlocks", "summary"}
//   POST /access  body: {"events": [...]} (host/anomaly/access.schema.json): who read, queried,
//        retrieved, stored, deleted or modified what at the PACS → 200 {"seqs": [...]}
//   GET /health → 200 {"ok": true, "auditSeq": n}
//   Any body, even random bytes, answers 200 with a verdict ("invalid" for what cannot be read);
//   503 only when the object could not be kept or audited; 413 over maxBodyBytes.
//
// The service verifies, keeps a quarantine copy of anything not authentic
// with its report, writes the audit record, and tells the caller what the
// policy wants done: keep and flag, or refuse/delete ("delete": true). It listens on
// loopback only: it trusts whoever reaches it to say where the bytes came from.
// The anomaly rules run over its audit log as records are written (host/anomaly/monitor.ts).
import http from 'node:http';
import { BodyTooLarge, destroyBodyAfterReply, readBody } from '../io/http-body.js';
import type { Ingestor } from './gateway/ingest.js';
import { AccessIntake, handleAccessRequest } from '../anomaly/access-intake.js';
import { AnomalyMonitor } from '../anomaly/monitor.js';
import { DEFAULT_RULES, type AnomalyRules } from '../anomaly/rules.js';

export interface VerifyServiceOptions {
  host: string;
  port: number;
  ingestor: Ingestor;
  maxBodyBytes?: number;
  log?: (m: string) => void;
  /** Anomaly rules for the live monitor (default: the documented defaults). */
  anomalyRules?: AnomalyRules;
}

export interface VerifyService {
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function startVerifyService(o: VerifyServiceOptions): Promise<VerifyService> {
  if (!isLoopback(o.host)) return Promise.reject(new Error(`verify-service listens on loopback only (127.0.0.1 or ::1), not ${o.host}`));
  const log = o.log ?? (() => {});
  const max = o.maxBodyBytes ?? 1 << 30;
  const reply = (res: http.ServerResponse, code: number, body: unknown) => {
    if (res.destroyed) return; // the caller hung up (or we are stopping): the record stands, nobody to tell
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  // Requests being verified: close() lets them finish (kept and audited), then returns.
  const inFlight = new Set<Promise<void>>();
  const atna = o.ingestor.o.atna;
  const access = new AccessIntake(o.ingestor.o.audit, atna);
  const monitor = new AnomalyMonitor(o.ingestor.o.audit, { rules: o.anomalyRules ?? DEFAULT_RULES, detector: 'verify-service', atna, log });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/health') return reply(res, 200, { ok: true, auditSeq: o.ingestor.o.audit.head.seq });
    if (req.method === 'POST' && url.pathname === '/access') return handleAccessRequest(req, res, access, reply);
    if (req.method !== 'POST' || url.pathname !== '/verify') return reply(res, 404, { error: 'POST /verify with DICOM bytes, POST /access with access events, or GET /health' });
    const answer = async (body: Buffer) => {
      try {
        const bytes = new Uint8Array(body);
        const q = (k: string) => url.searchParams.get(k) || null;
        const r = await o.ingestor.ingest(bytes, { via: q('via') ?? 'http', ae: q('ae'), host: q('host') });
        const summary = `${r.report.verdict}${r.report.reasons[0] ? ': ' + r.report.reasons[0] : ''}`.slice(0, 400);
        log(`${r.sopInstanceUid ?? '(no UID)'}${q('instance') ? ` (${q('instance')})` : ''}: ${r.report.verdict} → ${r.action} (audit #${r.record.seq})`);
        reply(res, 200, {
          verdict: r.report.verdict,
          authentic: r.report.verdict === 'authentic',
          reasons: r.report.reasons,
          action: r.action,
          delete: r.action === 'rejected',
          sopInstanceUid: r.sopInstanceUid,
          fileSha256: r.fileSha256,
          auditSeq: r.record.seq,
          device: r.report.capture?.deviceId ?? null,
          tamperedTiles: r.report.tamperedTiles?.tiles ?? [],
          watermarkBlocks: r.report.watermark?.blocks.tampered ?? [],
          summary,
        });
      } catch (err) {
        // Verification never throws (a verifier failure is an "invalid" verdict); this is the object
        // not being kept or audited (disk, audit log). 503: the hook treats it as verifier unavailable.
        log(`verify: could not record the object: ${(err as Error).message}`);
        reply(res, 503, { error: `could not record the object: ${(err as Error).message}` });
      }
    };
    readBody(req, max).then((body) => {
      const work = answer(body);
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    }, (err: Error) => {
      if (!(err instanceof BodyTooLarge)) return log(`POST /verify: request failed: ${err.message}`);
      // Not verified, so not audited here: the hook keeps or refuses it as "unverified" (RefuseUnverified).
      log(`POST /verify refused: ${err.message}`);
      reply(res, 413, { error: err.message });
      destroyBodyAfterReply(req, res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      monitor.stop();
      reject(err);
    });
    server.listen(o.port, o.host, () => {
      resolve({
        port: (server.address() as { port: number }).port,
        close: async () => {
          server.closeAllConnections();
          await new Promise<void>((r) => server.close(() => r()));
          while (inFlight.size) await Promise.allSettled([...inFlight]);
          monitor.stop();
        },
      });
    });
  });
}
