import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinePacer } from '../../../host/link/pacer.js';

test('LinePacer holds a sender to its line rate after the burst allowance', () => {
  const p = new LinePacer(1_000_000, 65_536); // 1 MB/s, 64 KiB burst
  assert.equal(p.waitMs(1000), 0, 'the first write goes at once');
  p.note(65_536);
  assert.equal(p.waitMs(1000), 0, 'the burst allowance is not a debt');
  p.note(500_000);
  // 500 000 bytes beyond the burst at 1 MB/s: half a second.
  assert.ok(Math.abs(p.waitMs(1000) - 500) < 1e-9, `wait ${p.waitMs(1000)}`);
  assert.ok(Math.abs(p.waitMs(1200) - 300) < 1e-9);
  assert.equal(p.waitMs(1500), 0);
  // Over a long run the bytes written never exceed rate x time + burst.
  const q = new LinePacer(2_000_000, 4096);
  let now = 0;
  let sent = 0;
  while (now < 2000) {
    const w = q.waitMs(now);
    if (w > 0) now += w;
    else {
      q.note(1000);
      sent += 1000;
    }
    assert.ok(sent <= (now * 2_000_000) / 1000 + 4096 + 1000, `at ${now} ms: ${sent} bytes`);
  }
  assert.ok(sent >= 3_990_000, `a paced sender still gets the full rate: ${sent} bytes in 2 s`);
});

test('LinePacer restarts its window after an idle second, and refuses a rate that is not positive', () => {
  const p = new LinePacer(1_000_000, 0);
  p.waitMs(0);
  p.note(100);
  // Idle for 5 s: the 5 MB the line could have carried is not "owed" as a burst.
  assert.equal(p.waitMs(5000), 0);
  p.note(1_000_000);
  assert.ok(p.waitMs(5000) > 999, 'a new window: a megabyte now takes a second');
  assert.throws(() => new LinePacer(0), /not positive/);
  assert.throws(() => new LinePacer(Number.NaN), /not positive/);
});
