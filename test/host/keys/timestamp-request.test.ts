// RFC 3161 requests: the nonce is a DER INTEGER, positive and minimal, in every request. A
// non-minimal nonce (a leading zero byte, drawn about once in 256 requests) was refused by OpenSSL's
// TSA as a bad request; OpenSSL's own parser is the oracle here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timestampRequest } from '../../../host/keys/timestamp.js';
import { tempDir } from '../support/run.js';

test('5000 requests: every nonce is a positive, minimal DER INTEGER of 8 bytes', () => {
  for (let i = 0; i < 5000; i++) {
    const { nonce } = timestampRequest(new Uint8Array([i & 0xff, i >> 8]));
    assert.equal(nonce.length, 8);
    assert.ok(nonce[0]! >= 0x01 && nonce[0]! <= 0x7f, `nonce ${Buffer.from(nonce).toString('hex')}`);
  }
});

test('OpenSSL reads radseal requests, nonce included, as it reads its own', () => {
  const dir = tempDir('radseal-tsq-');
  for (let i = 0; i < 20; i++) {
    const { der, nonce } = timestampRequest(new Uint8Array([i]));
    const file = join(dir, `q${i}.tsq`);
    writeFileSync(file, der);
    const text = execFileSync('openssl', ['ts', '-query', '-in', file, '-text'], { encoding: 'utf8' });
    const shown = /Nonce: (0x[0-9A-F]+)/i.exec(text)?.[1];
    assert.ok(shown, text);
    assert.equal(BigInt(shown), BigInt(`0x${Buffer.from(nonce).toString('hex')}`));
    assert.match(text, /Certificate required: yes/);
  }
});
