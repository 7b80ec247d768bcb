// The one request-body reader: a body within the limit arrives whole; one over it is refused with
// BodyTooLarge as soon as the limit is crossed, and the caller's 413 still reaches the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLarge, destroyBodyAfterReply, readBody } from '../../../host/io/http-body.js';

async function serve(max: number): Promise<{ url: string; seen: number[]; close: () => Promise<void> }> {
  const seen: number[] = [];
  const server = http.createServer((req, res) => {
    readBody(req, max).then((body) => {
      seen.push(body.length);
      res.end(`got ${body.length}`);
    }, (err: Error) => {
      assert.ok(err instanceof BodyTooLarge);
      res.writeHead(413).end(err.message);
      destroyBodyAfterReply(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

test('a body up to the limit is read whole, byte for byte in size', async () => {
  const s = await serve(1000);
  try {
    for (const n of [0, 1, 999, 1000]) {
      const r = await fetch(s.url, { method: 'POST', body: new Uint8Array(n).fill(7) });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), `got ${n}`);
    }
    assert.deepEqual(s.seen, [0, 1, 999, 1000]);
  } finally {
    await s.close();
  }
});

test('one byte over the limit: 413 naming the limit, and the handler never sees a body', async () => {
  const s = await serve(1000);
  try {
    const r = await fetch(s.url, { method: 'POST', body: new Uint8Array(1001) }).catch((e: Error) => e);
    // The server may drop the connection once it has answered: either the 413 arrives or the
    // request fails, but a 200 never does.
    if (!(r instanceof Error)) {
      assert.equal(r.status, 413);
      assert.match(await r.text(), /body over 1000 bytes/);
    }
    assert.deepEqual(s.seen, []);
  } finally {
    await s.close();
  }
});
