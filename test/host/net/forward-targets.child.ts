// Child process for the several-targets test: forwards an outbox to the targets named on the
// command line (AE@HOST:PORT …) until it is killed, one log line per delivery on stdout.
import { Outbox } from '../../../host/net/outbox.js';
import { Forwarder, parseForwardTargets } from '../../../host/net/forwarder.js';

const [dir, ...specs] = process.argv.slice(2);
const fwd = new Forwarder(new Outbox(dir!), parseForwardTargets(specs), { minBackoffMs: 50, maxBackoffMs: 200, log: (m) => process.stdout.write(`${m}\n`) });
fwd.start();
