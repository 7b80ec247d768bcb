// Access events from the PACS hook (host/ingest/orthanc/radseal_access.py posts them to
// verify-service, POST /access) into the audit chain: checked against access.schema.json,
// the patient ID replaced by a keyed pseudonym (HMAC-SHA256 under a key kept beside the
// log, 0600) so rules can count patients without the log holding who they are, appended in
// one burst (one fsync), then reported to the ATNA repository with the patient as the
// standard wants. The verify-service stays the one writer of the chain.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type http from 'node:http';
import { BodyTooLarge, destroyBodyAfterReply, readBody } from '../io/http-body.js';
import AjvModule from 'ajv';
import { projectRoot } from '../core/wasm.js';
import { readSecretFile, writeSecretFile } from '../keys/filestore.js';
import type { AccessEntry, AuditLog, Chained } from '../ingest/audit.js';
import { accessEvent, type AtnaExtras, type AtnaTarget } from './atna.js';

export class AccessBodyError extends Error {
  override name = 'AccessBodyError';
}

interface PostedEvent {
  action: AccessEntry['action'];
  source: { via: string; ae?: string | null; host?: string | null; user?: string | null };
  level?: string | null;
  studyUid?: string | null;
  seriesUid?: string | null;
  sopInstanceUid?: string | null;
  sopClassUid?: string | null;
  instances?: number | null;
  destination?: string | null;
  transfer?: { id: string; phase: 'begin' | 'end' } | null;
  fileSha256?: string | null;
  outcome: AccessEntry['outcome'];
  detail?: string | null;
  patientId?: string | null;
  patientName?: string | null;
  query?: string | null;
}

type Validate = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };
let validator: Validate | undefined;
function compiled(): Validate {
  if (!validator) {
    const path = join(projectRoot(), 'host', 'anomaly', 'access.schema.json');
    let schema: object;
    try {
      schema = JSON.parse(readFileSync(path, 'utf8')) as object;
    } catch (err) {
      throw new Error(`cannot load the access event schema ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (it belongs beside the installation, like host/config/station.schema.json)`);
    }
    const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return validator;
}

function check(body: unknown): void {
  const validator = compiled();
  if (!validator(body)) throw new AccessBodyError((validator.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is not valid'}`).join('; '));
}

/** The pseudonym key beside a log: made on first use (32 random bytes, 0600), refused when others can read it. */
export function pseudonymKey(logPath: string): Buffer {
  const path = `${logPath}.pseudonym-key`;
  if (!existsSync(path)) writeSecretFile(path, randomBytes(32).toString('hex'));
  return Buffer.from(readSecretFile(path).toString('latin1').trim(), 'hex');
}

export class AccessIntake {
  private readonly key: Buffer;

  constructor(private readonly log: AuditLog, private readonly atna?: AtnaTarget) {
    compiled(); // a missing schema stops the service at start, not at the first access
    this.key = pseudonymKey(log.path);
  }

  /** Same patient, same pseudonym, under this log's key; not reversible without the key. */
  pseudonym(patientId: string): string {
    return createHmac('sha256', this.key).update(patientId, 'utf8').digest('hex').slice(0, 32);
  }

  /** Checks, appends and reports a posted body; throws AccessBodyError naming what is wrong (nothing is written then). */
  record(body: unknown): Array<Chained<AccessEntry>> {
    check(body);
    const posted = (body as { events: PostedEvent[] }).events;
    const entries: AccessEntry[] = posted.map((e) => ({
      kind: 'access',
      source: { via: e.source.via, ae: e.source.ae ?? null, host: e.source.host ?? null, user: e.source.user ?? null },
      action: e.action, level: e.level ?? null, studyUid: e.studyUid ?? null, seriesUid: e.seriesUid ?? null, sopInstanceUid: e.sopInstanceUid ?? null,
      patientRef: e.patientId ? this.pseudonym(e.patientId) : null, instances: e.instances ?? null, destination: e.destination ?? null,
      transfer: e.transfer ?? null, fileSha256: e.fileSha256 ?? null, outcome: e.outcome, detail: e.detail ?? null,
    }));
    const written = this.log.appendMany(entries);
    if (this.atna) {
      written.forEach((rec, i) => {
        const p = posted[i]!;
        const extras: AtnaExtras = {
          ...(p.patientId ? { patient: { id: p.patientId, ...(p.patientName ? { name: p.patientName } : {}) } } : {}),
          ...(p.sopClassUid ? { sopClassUid: p.sopClassUid } : {}),
          ...(p.query ? { query: Buffer.from(p.query, 'base64') } : {}),
        };
        this.atna!.sink.emit(accessEvent(rec, this.atna!, extras));
      });
    }
    return written;
  }
}

/** POST /access for verify-service: JSON body up to maxBytes; 200 {seqs}, 400 naming the problem, 413, 503 when nothing could be written. */
export function handleAccessRequest(req: http.IncomingMessage, res: http.ServerResponse, intake: AccessIntake, reply: (res: http.ServerResponse, code: number, body: unknown) => void, maxBytes = 16 << 20): void {
  readBody(req, maxBytes).then((bytes) => {
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      return reply(res, 400, { error: 'the body is not JSON: POST /access {"events": [...]} (host/anomaly/access.schema.json)' });
    }
    try {
      const written = intake.record(body);
      reply(res, 200, { seqs: written.map((r) => r.seq) });
    } catch (err) {
      if (err instanceof AccessBodyError) return reply(res, 400, { error: `access events refused: ${err.message}` });
      reply(res, 503, { error: `could not record the access events: ${(err as Error).message}` });
    }
  }, (err: Error) => {
    if (!(err instanceof BodyTooLarge)) return;
    reply(res, 413, { error: err.message });
    destroyBodyAfterReply(req, res);
  });
}
