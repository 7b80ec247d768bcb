// The forwarder's audit (gateway, proxy and capture forward the same way): Begin Transferring
// before each object goes, Instances Transferred (R) when PACS took it, a failed transfer when
// PACS refused it for good; patient and study read from the file. The PACS is a stand-in here
// (the send seam), so that a permanent refusal can be had on demand; every message is then
// validated against the A.5 schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Forwarder } from '../../../host/net/forwarder.js';
import { LinkQueue } from '../../../host/net/link-queue.js';
import { DicomNetError } from '../../../host/net/association.js';
import { auditForwarding, type AuditSink } from '../../../host/audit/emit.js';
import { buildAtnaMessage, type AuditEvent } from '../../../host/audit/atna-message.js';
import { fileRefs } from '../../../host/audit/dicom-refs.js';
import { makeObjects } from '../../services/ingest-fixtures.js';
import { jing, schemaRng, tempDir } from './fixtures.js';
import { waitFor } from './rsyslog.js';

test('forwarding: Begin Transferring, then Transferred (taken) or a failed transfer (refused for good), naming study and patient', async (t) => {
  const dir = tempDir(t, 'radseal-fwd-atna-');
  await makeObjects(dir, 2, 64, 64);
  const queue = new LinkQueue(join(dir, 'queue'));
  queue.enqueue(join(dir, 'sealed-0.dcm'));
  queue.enqueue(join(dir, 'sealed-1.dcm'));
  const events: AuditEvent[] = [];
  const sink: AuditSink = { emit: (e) => void events.push(e), anchorHead: () => null, close: async () => undefined };
  let sent = 0;
  const fwd = new Forwarder(queue, { calledAe: 'PACS', host: '10.9.9.9', port: 104 }, {
    minBackoffMs: 10,
    send: async () => {
      if (sent++ === 1) throw new DicomNetError('C-STORE status 0xA900', false);
    },
  });
  auditForwarding(fwd, { sink, self: { userId: 'radseal ingest', alternativeUserId: 'AETITLES=RADSEAL' }, target: { userId: 'PACS', alternativeUserId: 'AETITLES=PACS', address: '10.9.9.9' }, refsOf: fileRefs });
  fwd.start();
  await waitFor('both objects handled', () => events.length === 4);
  await fwd.stop();
  assert.deepEqual(events.map((e) => [e.kind, e.outcome]), [['begin-transferring', 0], ['instances-transferred', 0], ['begin-transferring', 0], ['instances-transferred', 8]]);
  const taken = events[1] as Extract<AuditEvent, { kind: 'instances-transferred' }>;
  assert.equal(taken.action, 'R');
  assert.equal(taken.destination.userId, 'PACS');
  assert.ok(taken.patient?.id, 'the patient is named');
  assert.equal(taken.studies[0]?.sopClasses[0]?.instances.length, 1);
  assert.match((events[3] as { outcomeDescription?: string }).outcomeDescription ?? '', /0xA900/);
  const rng = schemaRng(dir);
  const files = events.map((e, i) => {
    const f = join(dir, `f${i}.xml`);
    writeFileSync(f, buildAtnaMessage(e, { id: 'gw', type: '4' }));
    return f;
  });
  assert.equal(jing(rng, files), '');
});
