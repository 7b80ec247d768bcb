// Every audit message kind radseal emits validates against the DICOM PS3.15 A.5.1 schema
// (the standard's RELAX NG Compact text, converted by trang, checked by jing and by xmllint),
// and the validator is shown to refuse a message that breaks the schema.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAtnaMessage, xmlSafe } from '../../../host/audit/atna-message.js';
import { EVERY_EVENT, jing, schemaRng, tempDir } from './fixtures.js';

const gatewaySource = { id: 'pacs-gw', enterpriseSiteId: 'General Hospital', type: '4' as const };
const schemaDir = mkdtempSync(join(tmpdir(), 'radseal-atna-schema-'));
after(() => rmSync(schemaDir, { recursive: true, force: true }));
let converted: string | undefined;
/** trang runs once per file (a JVM start each time). */
const rngOnce = () => (converted ??= schemaRng(schemaDir));

test('every message kind validates against the A.5 schema (jing and xmllint)', (t) => {
  const rng = rngOnce();
  const dir = tempDir(t, 'radseal-atna-msgs-');
  const files = EVERY_EVENT.map(([name, e], i) => {
    const f = join(dir, `m${i}.xml`);
    writeFileSync(f, buildAtnaMessage(e, gatewaySource));
    return { name, f };
  });
  assert.equal(jing(rng, files.map((x) => x.f)), '', 'jing: every message valid');
  for (const { name, f } of files) {
    const r = spawnSync('xmllint', ['--noout', '--relaxng', rng, f], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
});

test('the validator refuses what the schema forbids (so the check above can fail)', (t) => {
  const dir = tempDir(t, 'radseal-atna-neg-');
  const rng = rngOnce();
  const good = buildAtnaMessage(EVERY_EVENT[2]![1], gatewaySource);
  const broken = {
    'no ActiveParticipant': good.replace(/<ActiveParticipant[\s\S]*?<\/ActiveParticipant>/g, ''),
    'outcome 3': good.replace('EventOutcomeIndicator="0"', 'EventOutcomeIndicator="3"'),
    'participant object without a name': good.replace(/<ParticipantObjectName>[^<]*<\/ParticipantObjectName>/, ''),
    'EventID without originalText': good.replace(/(<EventID [^>]*?) originalText="[^"]*"/, '$1'),
  };
  const files = Object.entries(broken).map(([what, xml], i) => {
    assert.notEqual(xml, good, what);
    const f = join(dir, `bad${i}.xml`);
    writeFileSync(f, xml);
    return { what, f };
  });
  const complaints = jing(rng, files.map((x) => x.f));
  for (const { what, f } of files) assert.ok(complaints.includes(`${f}:`), `jing must refuse: ${what}\n${complaints}`);
});

test('the messages name what the standard asks: codes, roles, the patient and study as participant objects', () => {
  const byName = new Map(EVERY_EVENT.map(([n, e]) => [n, buildAtnaMessage(e, gatewaySource)]));
  const transferred = byName.get('instances transferred (new)')!;
  assert.match(transferred, /EventActionCode="C"/);
  assert.match(transferred, /<EventID csd-code="110104" codeSystemName="DCM" originalText="DICOM Instances Transferred"\/>/);
  assert.match(transferred, /UserID="MODALITY1" AlternativeUserID="AETITLES=MODALITY1" UserIsRequestor="true" NetworkAccessPointID="10.1.2.3" NetworkAccessPointTypeCode="2"><RoleIDCode csd-code="110153"/);
  assert.match(transferred, /ParticipantObjectID="PID-0042" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"><ParticipantObjectIDTypeCode csd-code="2" codeSystemName="RFC-3881"/);
  assert.match(transferred, /<SOPClass UID="1.2.840.10008.5.1.4.1.1.1.1" NumberOfInstances="2"><Instance UID="2.25.1234.1"\/>/);
  assert.match(byName.get('instances transferred (replaced, refused)')!, /EventActionCode="U"[^>]*EventOutcomeIndicator="4"/);
  assert.match(byName.get('application start')!, /110100[\s\S]*110120[\s\S]*RoleIDCode csd-code="110150"[\s\S]*RoleIDCode csd-code="110151"/);
  assert.match(byName.get('application stop')!, /csd-code="110121"/);
  assert.match(byName.get('begin transferring')!, /csd-code="110102"/);
  assert.match(byName.get('instances accessed')!, /csd-code="110103"/);
  const query = EVERY_EVENT.find(([n]) => n === 'query')![1] as Extract<(typeof EVERY_EVENT)[number][1], { kind: 'query' }>;
  assert.match(byName.get('query')!, new RegExp(`csd-code="110112"[\\s\\S]*<ParticipantObjectQuery>${Buffer.from(query.query).toString('base64')}</ParticipantObjectQuery><ParticipantObjectDetail type="TransferSyntax" value="${Buffer.from('1.2.840.10008.1.2.1').toString('base64')}"`));
  const alert = byName.get('security alert: non-authentic')!;
  assert.match(alert, /csd-code="110113"[\s\S]*codeSystemName="99RADSEAL"/);
  assert.match(alert, new RegExp(`type="Alert Description" value="${Buffer.from('tampered: pixel hash mismatch').toString('base64')}"`));
  assert.match(byName.get('security alert: refused association')!, /csd-code="110126"/);
  assert.match(byName.get('audit log used')!, /csd-code="110101"[\s\S]*ParticipantObjectTypeCodeRole="13"[\s\S]*Security Audit Log/);
});

test('hostile text (control characters, markup, quotes) from the wire stays valid XML and valid against the schema', (t) => {
  const dir = tempDir(t, 'radseal-atna-hostile-');
  const rng = rngOnce();
  const evil = 'EV\u0000IL"<x>&\u0007\uFFFF]]>';
  const e = { ...EVERY_EVENT[8]![1], performer: { userId: evil, alternativeUserId: `AETITLES=${evil}`, address: evil }, subject: evil, description: evil } as (typeof EVERY_EVENT)[number][1];
  const f = join(dir, 'hostile.xml');
  writeFileSync(f, buildAtnaMessage(e, { id: evil, type: '4' }));
  assert.equal(jing(rng, [f]), '');
  assert.equal(xmlSafe('a\u0000b\u0008c\td'), 'a\uFFFDb\uFFFDc\td');
});
