// Steady UDP sender for bench/cluster/faults.sh: N launch datagrams, each a new workflow id, at
// RATE per second to 127.0.0.1:PORT. Prints {"sent":N,"ms":elapsed} at the end.
//   node bench/cluster/send.mjs N RATE PORT
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';

const n = Number(process.argv[2] ?? 1000);
const rate = Number(process.argv[3] ?? 200); // datagrams/s
const port = Number(process.argv[4] ?? 50177);
const socket = createSocket('udp4');
let sent = 0;
const t0 = Date.now();
const tick = setInterval(() => {
  const due = Math.min(n, Math.floor(((Date.now() - t0) / 1000) * rate));
  for (; sent < due; sent++) {
    const body = {
      correlator: randomUUID(),
      parsl_v: '2025.03.17',
      python_v: '3.12.2',
      'platform.system': 'Linux',
      tracking_level: 1,
    };
    socket.send(`1${JSON.stringify(body)}`, port, '127.0.0.1');
  }
  if (sent >= n) {
    clearInterval(tick);
    setTimeout(() => {
      console.log(JSON.stringify({ sent, ms: Date.now() - t0 }));
      socket.close();
    }, 200);
  }
}, 10);
