/**
 * `vaigai demo` (`npm start`): the whole stack end to end with no NIC and no
 * root. Two vaigAI hosts, 198.18.0.1 (client) and 198.18.0.2 (server), each a
 * NetStack with its own user-space TCP, sit on an in-memory ring pair in this
 * one thread; the HTTP/1.1 client loads the HTTP/1.1 server, first over
 * keep-alive connections, then with a new connection per request (every
 * request a full three-way handshake and close). Every frame is built and
 * parsed by the stack: Ethernet, IPv4, TCP with checksums, HTTP.
 */
import type { Command } from 'commander';
import { monotonicClock } from '../../common/clock.js';
import { summarize, summaryText, liveLine } from '../../engine/report.js';
import { runRingLoad } from '../../engine/ring_load.js';
import { parseIp } from '../../wire/ipv4_addr.js';

interface DemoOptions {
  seconds: string;
  connections: string;
}

interface Phase {
  title: string;
  perConn: number;
  pipeline: number;
  bodySize: number;
}

const PHASES: Phase[] = [
  { title: 'keep-alive: 1 request in flight per connection, 64-byte bodies', perConn: 0, pipeline: 1, bodySize: 64 },
  { title: 'connection per request: SYN, request, answer, FIN for each, 64-byte bodies', perConn: 1, pipeline: 1, bodySize: 64 },
];

function runDemo(o: DemoOptions): void {
  const seconds = Number(o.seconds);
  const connections = Number(o.connections);
  if (!(seconds > 0 && seconds <= 60)) throw new Error(`demo: --seconds must be in (0, 60], got '${o.seconds}'`);
  if (!(Number.isInteger(connections) && connections >= 1 && connections <= 10000)) {
    throw new Error(`demo: --connections must be an integer in 1..10000, got '${o.connections}'`);
  }
  console.log('vaigai demo: two user-space TCP/IP stacks on an in-memory ring, one thread, no kernel networking');
  console.log('  client 198.18.0.1 (HTTP/1.1 load)  <->  server 198.18.0.2 (HTTP/1.1 responder)');
  for (const p of PHASES) {
    console.log(`\n== ${p.title}, ${connections} connections, ${seconds} s`);
    const r = runRingLoad({
      clock: monotonicClock,
      clientIp: parseIp('198.18.0.1'),
      serverIp: parseIp('198.18.0.2'),
      connections,
      pipeline: p.pipeline,
      requestsPerConnection: p.perConn,
      bodySize: p.bodySize,
      durationUs: seconds * 1e6,
      intervalUs: 1e6,
      maxConns: 65536,
      onInterval: (us, prev, cur, h) => console.log(liveLine(us / 1e6, prev, cur, h)),
    });
    const l = r.load;
    const m = summarize(l.elapsedUs(), l.snapshot(), l.latency, false, null, l.lastFailure());
    console.log(summaryText('summary', m));
    const tc = r.pair.client.tcp.counters;
    const ts = r.pair.server.tcp.counters;
    console.log(
      `  cpu          ${(r.cpuUs / Math.max(1, m.responses)).toFixed(2)} us per request (client and server together, one core)`,
    );
    console.log(
      `  tcp          client: ${tc.activeOpens} opened, ${tc.segsOut} segments out, ${tc.retransSegs} retransmitted;` +
        ` server: ${ts.passiveOpens} accepted, ${ts.segsOut} segments out, ${ts.retransSegs} retransmitted`,
    );
    r.pair.close();
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('HTTP/1.1 over the user-space TCP/IP stack, client and server in one thread on an in-memory ring (no NIC, no root)')
    .option('--seconds <s>', 'length of each phase', '4')
    .option('--connections <n>', 'concurrent connections', '64')
    .action((o: DemoOptions) => runDemo(o));
}
