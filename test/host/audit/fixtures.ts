// Shared by the audit tests: one event of every kind radseal emits, the A.5 schema as RELAX NG
// (the committed .rnc converted by trang), a validator (jing), and a test PKI made with openssl.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AuditEvent } from '../../../host/audit/atna-message.js';

export const SCHEMA_RNC = join(import.meta.dirname, '../../../host/audit/schema/dicom-audit-message.rnc');

export function tempDir(t: TestContext, prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The committed schema converted to RELAX NG XML syntax (trang), in dir. */
export function schemaRng(dir: string): string {
  const out = join(dir, 'dicom-audit-message.rng');
  execFileSync('trang', [SCHEMA_RNC, out]);
  return out;
}

/** Validates XML files against the schema with jing; returns jing's complaints (empty when all are valid). */
export function jing(rng: string, files: string[]): string {
  const r = spawnSync('jing', [rng, ...files], { encoding: 'utf8' });
  return (r.stdout + r.stderr).trim();
}

const time = new Date('2026-12-03T10:00:00.000Z');
const modality = { userId: 'MODALITY1', alternativeUserId: 'AETITLES=MODALITY1', address: '10.1.2.3' };
const gateway = { userId: 'radseal ingest', alternativeUserId: 'AETITLES=RADSEAL', address: 'pacs-gw.example' };
const patient = { id: 'PID-0042', name: 'Doe^Jane' };
const study = { studyInstanceUid: '2.25.1234', accessionNumber: 'ACC9', sopClasses: [{ uid: '1.2.840.10008.5.1.4.1.1.1.1', instances: ['2.25.1234.1', '2.25.1234.2'] }] };

/** One event of every kind and variant radseal emits. */
export const EVERY_EVENT: Array<[string, AuditEvent]> = [
  ['application start', { kind: 'application-activity', time, outcome: 0, action: 'start', application: gateway, launcher: { userId: 'radseal' } }],
  ['application stop', { kind: 'application-activity', time, outcome: 0, action: 'stop', application: gateway }],
  ['instances transferred (new)', { kind: 'instances-transferred', time, outcome: 0, action: 'C', source: modality, destination: gateway, requestor: 'source', patient, studies: [study] }],
  ['instances transferred (replaced, refused)', { kind: 'instances-transferred', time, outcome: 4, outcomeDescription: 'refused: tampered', action: 'U', source: modality, destination: gateway, requestor: 'source', patient, studies: [study] }],
  ['begin transferring', { kind: 'begin-transferring', time, outcome: 0, source: gateway, destination: { userId: 'PACS', alternativeUserId: 'AETITLES=PACS', address: '10.9.9.9' }, patient, studies: [study] }],
  ['instances accessed', { kind: 'instances-accessed', time, outcome: 0, action: 'R', accessor: { userId: 'alice' }, patient, studies: [study] }],
  ['query', { kind: 'query', time, outcome: 0, source: modality, destination: gateway, sopClassUid: '1.2.840.10008.5.1.4.1.2.2.1', query: new Uint8Array([8, 0, 0x52, 0, 6, 0, 0x53, 0x54, 0x55, 0x44, 0x59, 0x20]), transferSyntaxUid: '1.2.840.10008.1.2.1' }],
  ['security alert: non-authentic', { kind: 'security-alert', time, outcome: 4, alert: 'non-authentic', reporter: gateway, performer: modality, subject: 'urn:oid:2.25.1234.1', description: 'tampered: pixel hash mismatch', patient, studies: [study] }],
  ['security alert: refused association', { kind: 'security-alert', time, outcome: 4, alert: 'refused-association', reporter: gateway, performer: { userId: 'EVIL', address: '10.6.6.6' }, subject: 'dicom:EVIL@10.6.6.6', description: 'calling AE not allowed' }],
  ['security alert: refused PIN', { kind: 'security-alert', time, outcome: 4, alert: 'refused-pin', reporter: gateway, performer: { userId: 'tech042' }, subject: 'technologist:tech042', description: 'wrong PIN' }],
  ['security alert: revoked signer', { kind: 'security-alert', time, outcome: 4, alert: 'revoked-signer', reporter: gateway, subject: 'urn:oid:2.25.1234.2', description: 'signed by revoked DX-ROOM-3' }],
  ['security alert: watermark mismatch', { kind: 'security-alert', time, outcome: 4, alert: 'watermark-mismatch', reporter: gateway, subject: 'urn:oid:2.25.1234.2', description: 'transplanted mark' }],
  ['audit log used', { kind: 'audit-log-used', time, outcome: 0, accessor: { userId: 'secofficer' }, logUri: 'file:///var/log/radseal/audit.jsonl' }],
];

export { makePki } from '../support/openssl-pki.js';
