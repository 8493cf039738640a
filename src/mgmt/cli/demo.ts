/**
 * `vaigai demo` (`npm start`): a traffic profile (examples/demo.json unless
 * --config names another) run end to end with no NIC and no root. Two vaigAI
 * hosts, 198.18.0.1 (client) and 198.18.0.2 (server), each a NetStack with
 * its own user-space TCP, sit on an in-memory ring pair in this one thread;
 * the profile's load runs through the same engine as a run on a port (the
 * client mode, its load model, stages, flows and report) against the
 * HTTP/1.1 server mode. Every frame is built and parsed by the stack.
 */
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { monotonicClock } from '../../common/clock.js';
import { InvalidProfileError } from '../../common/errors.js';
import { ClientMode, HttpServerMode } from '../../engine/modes.js';
import { clientExitCode } from '../../engine/report.js';
import { RingPair } from '../../engine/ring_pair.js';
import { loadProfile, stagesOf } from '../../run/profile_check.js';
import { clientPlanOf } from '../../run/profile_plan.js';
import { ipToString, parseIp } from '../../wire/ipv4_addr.js';

const CLIENT_IP = parseIp('198.18.0.1');
const SERVER_IP = parseIp('198.18.0.2');
const SERVER_PORT = 80;
const EXAMPLE = fileURLToPath(new URL('../../../../examples/demo.json', import.meta.url));
/** TCBs per host: TIME_WAIT is short on the ring (1 s), so this holds a few thousand connections a second. */
const MAX_CONNS = 65536;
const DRAIN_US = 2_000_000;

/** Runs the profile at `path` on the ring pair; returns the exit code (README, exit codes). */
function runDemo(path: string): number {
  const source = `--config ${path}`;
  const profile = loadProfile(path);
  const plan = clientPlanOf(
    profile,
    { saveBody: null, sha256: false, expectSha256: null, tlsTimeoutS: 10, connectTimeoutS: 10, responseTimeoutS: 30, maxResponseTimeS: 0, allowErrors: 0 },
    source,
  );
  if (plan.tls !== null) throw new InvalidProfileError('/flows/0/proto', 'the demo\'s server speaks http only', source);
  (plan.flows ?? []).forEach((f, i) => {
    if (f.dstIp !== SERVER_IP || f.dstPort !== SERVER_PORT) throw new InvalidProfileError(`/flows/${i}/dst_ip`, `the demo's server is ${ipToString(SERVER_IP)}:${SERVER_PORT}`, source);
    if (f.srcLo !== 0 && (f.srcLo !== CLIENT_IP || f.srcHi !== CLIENT_IP)) throw new InvalidProfileError(`/flows/${i}/src_ip_lo`, `the demo's client is ${ipToString(CLIENT_IP)} alone`, source);
  });
  const clock = monotonicClock;
  const durationUs = stagesOf(profile).reduce((t, s) => t + s.duration_secs, 0) * 1e6;
  const pair = new RingPair({ clock, clientIp: CLIENT_IP, serverIp: SERVER_IP, tcp: { maxConns: MAX_CONNS, timeWaitUs: 1_000_000, bufferBytes: 32 * 1024 * 1024 } });
  console.log(`vaigai demo: ${path} on two user-space TCP/IP stacks on an in-memory ring, one thread, no kernel networking`);
  console.log(`  client ${ipToString(CLIENT_IP)} (the profile's load)  <->  server ${ipToString(SERVER_IP)}:${SERVER_PORT} (HTTP/1.1, 64-byte bodies; /bytes/<n>: n bytes)`);
  const server = new HttpServerMode({ transport: pair.server.tcp, port: SERVER_PORT, status: 200, bodySize: 64, tls: null, clock });
  const client = new ClientMode({ ...plan, transport: pair.client.tcp, clock, srcIp: 0, durationUs, drainUs: DRAIN_US, maxConns: MAX_CONNS });
  const cpu0 = process.cpuUsage();
  const startUs = clock.nowUs();
  let nextLine = startUs + 1e6;
  while (!client.finished()) {
    pair.poll();
    const now = clock.nowUs();
    client.tick(now);
    server.tick(now);
    if (now >= nextLine) {
      console.log(client.liveLine((now - startUs) / 1e6));
      nextLine += 1e6;
    }
  }
  client.end();
  const cpu = process.cpuUsage(cpu0);
  const m = client.result();
  console.log(client.summary());
  console.log(`  cpu          ${((cpu.user + cpu.system) / Math.max(1, m.responses)).toFixed(2)} us per request (client and server together, one core)`);
  console.log(server.summary());
  pair.close();
  const exit = clientExitCode(m, 0);
  if (exit.reason !== '') console.log(`vaigai demo: ${exit.reason}`);
  return exit.code;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('a traffic profile (examples/demo.json: a ramp up, a steady stage, a ramp down) through the engine, client and server in one thread on an in-memory ring (no NIC, no root)')
    .option('--config <file>', 'the profile to run (its flows toward 198.18.0.2:80)', EXAMPLE)
    .action((o: { config: string }) => {
      process.exitCode = runDemo(o.config);
    });
}
