// The received-object journal across an upgrade of its key: lines an older proxy wrote (keyed by
// the whole data set's SHA-256) still find their object when it comes again, keyed now by the
// pixel-hash key (host/proxy/stream-digest.ts journalKey); a torn or foreign line is ignored, and
// the line after a torn one is a line of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE, ReceivedJournal } from '../../../host/proxy/journal.js';
import { tempDir } from '../support/run.js';

const hex = (c: string) => c.repeat(64);

test('an old line (whole-data-set SHA-256) is found by that hash when the new key is a pixel key; new lines by their key only', async () => {
  const dir = join(tempDir('radseal-journal-'), 'outbox');
  mkdirSync(dir);
  appendFileSync(join(dir, JOURNAL_FILE), `7\t1.2.3.4\t${hex('a')}\n8\t1.2.3.5\tp:${hex('b')}\n9\t1.2.3.6\tq:${hex('c')}\n10\t1.2.3.7\t${hex('d').slice(0, 20)}`);
  const j = new ReceivedJournal(dir);
  let asked = 0;
  const whole = (h: string) => () => (asked++, h);
  // The object an older proxy took (line 7), arriving again: its new key is unknown, its whole hash is asked for and found.
  assert.equal(j.find('1.2.3.4', `p:${hex('e')}`, whole(hex('a')))?.serial, 7);
  assert.equal(asked, 1);
  // Another object with that UID (other bytes): not found, never another's serial.
  assert.equal(j.find('1.2.3.4', `p:${hex('f')}`, whole(hex('0'))), undefined);
  // A UID with only new-key lines: the whole hash is never computed (no second pass over the object).
  asked = 0;
  assert.equal(j.find('1.2.3.5', `p:${hex('b')}`, whole(hex('b')))?.serial, 8);
  assert.equal(j.find('1.2.3.5', `p:${hex('1')}`, whole(hex('b'))), undefined);
  assert.equal(asked, 0);
  // Foreign and torn lines are not entries; the next serial is above every real one.
  assert.equal(j.find('1.2.3.6', `q:${hex('c')}`), undefined);
  assert.equal(j.nextSerial(() => false), 9);
  const durable = j.record({ serial: 9, sopInstanceUid: '1.2.3.8', sha256Hex: `p:${hex('2')}` });
  // While the line is fsynced the serial is taken, but the object is not known yet (its line may never become durable).
  assert.equal(j.nextSerial(() => false), 10);
  assert.equal(j.find('1.2.3.8', `p:${hex('2')}`), undefined);
  await durable;
  assert.equal(j.find('1.2.3.8', `p:${hex('2')}`)?.serial, 9);
  assert.throws(() => j.record({ serial: 10, sopInstanceUid: '1.2.3.9', sha256Hex: 'p:xyz' }), /not a data set key/);
  // The torn last line (a crash mid-append) does not swallow the next one.
  assert.equal(new ReceivedJournal(dir).find('1.2.3.8', `p:${hex('2')}`)?.serial, 9, 'read back after a restart');
});
