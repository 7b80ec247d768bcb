// Child process for the kill -9 test: writes deterministic objects to an outbox forever.
import { Outbox } from '../../../host/net/outbox.js';
import { expectedObject } from './outbox-content.js';

const dir = process.argv[2];
const box = new Outbox(dir);
let serial = 1;
while (box.has('KILLTEST', serial)) serial++;
for (;;) {
  box.put('KILLTEST', serial, expectedObject(serial));
  process.stdout.write(`${serial}\n`);
  serial++;
}
