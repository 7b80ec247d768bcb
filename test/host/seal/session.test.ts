// Technologist session state on its own: login, activity, idle timeout,
// logout and handover, all on a given clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TechnologistSession, type Technologist } from '../../../host/seal/session.js';
import { seedSigner, newSeed } from '../../../host/keys/ed25519.js';

function tech(operatorId: string, closed: string[] = []): Technologist {
  return { operatorId, operatorsName: `${operatorId}^Test`, signer: seedSigner(newSeed()), certificateDer: new Uint8Array(1), close: () => closed.push(operatorId) };
}

test('login sets who and since; activity pushes the idle deadline; the deadline ends the session as a timeout', () => {
  const s = new TechnologistSession(60_000);
  assert.equal(s.current(0), undefined);
  const events = s.login(tech('T1'), 1000);
  assert.deepEqual(events.map((e) => [e.kind, e.operatorId]), [['login', 'T1']]);
  assert.deepEqual(s.state(1000), { operatorId: 'T1', operatorsName: 'T1^Test', since: 1000, idleDeadline: 61_000 });
  s.touch(50_000);
  assert.equal(s.state(50_000)!.idleDeadline, 110_000);
  assert.deepEqual(s.expire(109_999), []);
  assert.equal(s.current(109_999)!.operatorId, 'T1');
  assert.equal(s.current(110_000), undefined, 'not current at the deadline, even before expire() is called');
  const ended = s.expire(120_000);
  assert.equal(ended.length, 1);
  assert.deepEqual([ended[0]!.kind, ended[0]!.at, ended[0]!.kind === 'end' && ended[0]!.reason], ['end', 110_000, 'timeout']);
  assert.deepEqual(s.expire(130_000), [], 'a session ends once');
  s.touch(130_000);
  assert.equal(s.current(130_000), undefined, 'touch never revives a session');
});

test('logout ends the session; a second login hands over (the first ends as replaced); nobody logged in: logout is a no-op', () => {
  const s = new TechnologistSession(1000);
  assert.deepEqual(s.logout(0), []);
  s.login(tech('T1'), 0);
  const handover = s.login(tech('T2'), 10);
  assert.deepEqual(handover.map((e) => (e.kind === 'end' ? `end ${e.operatorId} ${e.reason}` : `login ${e.operatorId}`)), ['end T1 replaced', 'login T2']);
  assert.equal(s.current(20)!.operatorId, 'T2');
  const out = s.logout(30);
  assert.deepEqual(out.map((e) => e.kind === 'end' && `${e.operatorId} ${e.reason} since ${e.since}`), ['T2 logout since 10']);
  assert.equal(s.current(31), undefined);
  assert.throws(() => new TechnologistSession(0), /positive/);
});
